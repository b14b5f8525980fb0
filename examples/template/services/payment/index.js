// Payment service: charges an amount in cents.
export function charge(amountCents) {
  if (!Number.isInteger(amountCents) || amountCents <= 0) throw new Error('invalid amount');
  return { ok: true, amountCents };
}
