// End-to-end tests wait on real processes: give each test time to converge (they poll with their own deadlines).
import { jest } from '@jest/globals';

jest.setTimeout(90_000);
