// The scenario of kv-server.ts with the bug that at-most-once exists to prevent: the server has
// no client table, so a resent request (its answer was lost, or the request was duplicated on
// the way) runs twice, and an append twice shows in every later read. Try:
//
//   switchboard sweep examples/scenarios/kv-server-no-dedup.ts --seeds 1..100 --shrink
import { kvServerScenario } from './kv-server.ts';

export default kvServerScenario({ dedupe: false, name: 'kv-server-no-dedup' });
