// Loads every pod hook (each registers itself on import), in the order they run:
// the network first (it allocates the pod IP that env and downward API may refer to),
// then volumes. Import this once at an entry point (the CLI, the API).
import '../net/hook.ts';
import '../volumes/hook.ts';
