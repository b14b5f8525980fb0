import { strict as assert } from 'node:assert';
import { resolveInvocation } from '../../../src/core/workflow/agents';
import { parseWorkflow } from '../../../src/core/workflow/loadWorkflow';

/** A workflow in the TappsCodingAgents format, with its keys as that project writes them. */
const TAPPS_FILE = `# A TappsCodingAgents preset: no agents section, gates and scoring, folders as outputs.
workflow:
  id: feature-sdlc
  name: "Feature SDLC"
  description: "Requirements to tested code with quality gates"
  version: "1.0.0"
  type: greenfield
  auto_detect: true

  settings:
    quality_gates: true
    code_scoring: true
    context_tier_default: 2

  steps:
    - id: requirements
      agent: analyst
      action: gather_requirements
      context_tier: 1
      requires: []
      creates:
        - requirements.md
      condition: required
      next: planning

    - id: planning
      agent: planner
      action: create_stories
      context_tier: 1
      requires:
        - requirements.md
      creates:
        - stories/
      next: design

    - id: design
      agent: architect
      action: design_system
      context_tier: 2
      requires:
        - requirements.md
        - stories/
      creates:
        - architecture.md
      next: implementation

    - id: implementation
      agent: implementer
      action: write_code
      context_tier: 3
      requires:
        - architecture.md
        - stories/first-story.md
      creates:
        - src/
      next: review

    - id: review
      agent: reviewer
      action: review_code
      context_tier: 2
      requires:
        - src/app.py
      scoring:
        enabled: true
        thresholds:
          overall_min: 70
          security_min: 7.0
      gate:
        condition: "scoring.passed == true"
        on_pass: testing
        on_fail: implementation
      next: testing

    - id: testing
      agent: tester
      action: write_tests
      context_tier: 2
      requires:
        - src/
      creates:
        - tests/
      next: complete

    - id: docs
      agent: documenter
      action: generate_docs
      requires:
        - src/
      creates:
        - docs/

    - id: complete
      agent: orchestrator
      action: finalize
      context_tier: 1
`;

describe('engine: TappsCodingAgents workflow files', () => {
  it('load as they are, with nothing in the repository', () => {
    const loaded = parseWorkflow(TAPPS_FILE, 'full-sdlc.yaml', { baseContains: () => false });
    assert.equal(loaded.workflow.id, 'feature-sdlc');
    assert.equal(loaded.workflow.version, '1.0.0');
    assert.equal(loaded.workflow.settings.quality_gates, true);
    assert.deepEqual(loaded.workflow.agents, {});
    assert.deepEqual(loaded.workflow.steps.find((s) => s.id === 'requirements')?.next, ['planning']);
  });

  it('build their graph from requires, created folders and next', () => {
    const { graph } = parseWorkflow(TAPPS_FILE, 'full-sdlc.yaml', { baseContains: () => false });
    const deps = Object.fromEntries([...graph.dependencies].map(([id, d]) => [id, [...d]]));
    assert.deepEqual(deps, {
      requirements: [],
      planning: ['requirements'], // requires requirements.md; requirements names it in next
      design: ['requirements', 'planning'], // requires the stories/ folder planning creates
      implementation: ['planning', 'design'], // stories/first-story.md lies inside the created stories/
      review: ['implementation'], // src/app.py lies inside the created src/
      testing: ['implementation', 'review'], // requires src/; review names it in next
      docs: ['implementation'],
      complete: ['testing'], // only next links it
    });
    assert.deepEqual(graph.topological, ['requirements', 'planning', 'design', 'implementation', 'review', 'testing', 'docs', 'complete']);
    assert.deepEqual([...graph.dependents.get('implementation')!], ['review', 'testing', 'docs']);
  });

  it('run their agents through the tapps-agents preset', () => {
    const { workflow } = parseWorkflow(TAPPS_FILE, 'full-sdlc.yaml');
    const step = workflow.steps.find((s) => s.id === 'review')!;
    const invocation = resolveInvocation(workflow, step, {
      prompt: 'p',
      step: step.id,
      worktree: '/w',
      run: 'r',
      action: step.action ?? '',
      agent: step.agent,
    });
    assert.deepEqual(invocation.argv, ['tapps-agents', 'reviewer', 'review']);
  });
});
