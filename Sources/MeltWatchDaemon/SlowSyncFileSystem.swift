#if canImport(Glibc)
import Glibc
#endif
import MeltWatchJournal

/// A benchmark hook, not for production: the real file system with every `fdatasync` slowed by a
/// fixed delay, standing in for a plant server's spinning disk (5–10 ms per sync) on this machine's
/// fast one. `MELTWATCH_TEST_SYNC_DELAY_US` turns it on for the journal and the outbox;
/// `MELTWATCH_TEST_OUTBOX_SYNC=1` makes the outbox sync on every store again, as before issue 16, so
/// `scripts/bench-e2e.sh` can show what one sync on the alarm path instead of two buys.
struct SlowSyncFileSystem: JournalFileSystem {
    let base: POSIXFileSystem
    let delayMicroseconds: UInt32

    /// The file system the environment asks for: the real one unless the hook is set.
    static func fromEnvironment(_ environment: [String: String]) -> any JournalFileSystem {
        guard let text = environment["MELTWATCH_TEST_SYNC_DELAY_US"], let delay = UInt32(text), delay > 0 else { return POSIXFileSystem() }
        return SlowSyncFileSystem(base: POSIXFileSystem(), delayMicroseconds: delay)
    }

    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) {
        try base.dataSync(fd, path: path)
        usleep(delayMicroseconds)
    }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        try base.open(path, write: write, create: create, exclusive: exclusive)
    }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int { try base.write(fd, bytes, path: path) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        try base.read(fd, into: buffer, at: offset, path: path)
    }
    func syncDirectory(_ path: String) throws(SystemCallError) { try base.syncDirectory(path) }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) { try base.truncate(fd, to: length, path: path) }
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 { try base.size(fd, path: path) }
    func close(_ fd: Int32) { base.close(fd) }
    func list(_ directory: String) throws(SystemCallError) -> [String] { try base.list(directory) }
    func makeDirectory(_ path: String) throws(SystemCallError) { try base.makeDirectory(path) }
    func remove(_ path: String) throws(SystemCallError) { try base.remove(path) }
    func status(_ path: String) throws(SystemCallError) -> (bytes: Int64, isDirectory: Bool) { try base.status(path) }
    func freeBytes(_ path: String) throws(SystemCallError) -> UInt64 { try base.freeBytes(path) }
}
