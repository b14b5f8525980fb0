import { REQUEST_POLL_MS, takeRequests, type ControlRequest } from '../state/requests';

/**
 * The owner of a run acts on requests from other processes (the editor cancelling a CLI run, say):
 * polled every `REQUEST_POLL_MS`, one poll at a time. Returns the function that stops it.
 */
export function startRequestLoop(stateDir: string, handle: (request: ControlRequest) => void): () => void {
  let busy = false;
  const poll = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const request of await takeRequests(stateDir)) handle(request);
    } catch {
      // A request that cannot be read now is read on the next poll; the run goes on.
    } finally {
      busy = false;
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), REQUEST_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
