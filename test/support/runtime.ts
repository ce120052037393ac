import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers start and stop many times in a run; their INFO lines would bury the test report.
// Each test file runs in a process of its own, so this is that process's first runtime.
Runtime.install({ logger: new DefaultLogger('WARN') });
