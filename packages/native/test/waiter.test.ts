import { describeWaiter } from './waiter-suite.js';

describeWaiter('futex_waitv');
