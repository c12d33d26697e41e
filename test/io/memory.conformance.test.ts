/** MemoryFileIO passes the FileIO conformance suite. */
import { randomUUID } from 'node:crypto';
import { MemoryFileIO } from '../../src/io/memory.js';
import { fileIOConformance } from './conformance.js';

fileIOConformance('MemoryFileIO', () => ({ io: new MemoryFileIO(), root: `memory://bucket/${randomUUID()}` }));

// One store shared by every test, as fileIOFor's process-wide instance is: roots keep them apart.
const shared = new MemoryFileIO();
fileIOConformance('MemoryFileIO (one shared store)', () => ({ io: shared, root: `memory://shared/${randomUUID()}` }));
