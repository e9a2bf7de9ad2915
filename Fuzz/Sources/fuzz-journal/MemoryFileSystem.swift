#if canImport(Glibc)
import Glibc
#endif
import MeltWatchJournal

/// The journal's file system seam over a dictionary: each fuzz input gets a fresh one, so runs are
/// fast, independent of the disk and exactly repeatable.
///
/// Append-only writes, reads at an offset and truncation behave as POSIX does for the calls the
/// journal makes; sync calls do nothing (there is no crash to survive).
final class MemoryFileSystem: JournalFileSystem {
    /// File contents by absolute path.
    var files: [String: [UInt8]] = [:]
    private var directories: Set<String> = []
    private var open: [Int32: String] = [:]
    private var nextDescriptor: Int32 = 3

    init(directory: String) { directories.insert(directory) }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        if files[path] == nil {
            guard create else { throw SystemCallError(call: "open", path: path, errno: ENOENT) }
            guard directories.contains(parent(path)) else { throw SystemCallError(call: "open", path: path, errno: ENOENT) }
            files[path] = []
        } else if create && exclusive {
            throw SystemCallError(call: "open", path: path, errno: EEXIST)
        }
        let fd = nextDescriptor
        nextDescriptor += 1
        open[fd] = path
        return fd
    }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        guard let p = open[fd] else { throw SystemCallError(call: "write", path: path, errno: EBADF) }
        files[p, default: []].append(contentsOf: bytes)
        return bytes.count
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        guard let p = open[fd], let content = files[p] else { throw SystemCallError(call: "pread", path: path, errno: EBADF) }
        let start = min(Int(offset), content.count)
        let n = min(buffer.count, content.count - start)
        content.withUnsafeBytes { c in
            buffer.baseAddress.map { $0.copyMemory(from: c.baseAddress! + start, byteCount: n) }
        }
        return n
    }

    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) {}
    func syncDirectory(_ path: String) throws(SystemCallError) {}

    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) {
        guard let p = open[fd], var content = files[p] else { throw SystemCallError(call: "ftruncate", path: path, errno: EBADF) }
        let n = Int(length)
        if n < content.count { content.removeLast(content.count - n) } else { content += repeatElement(0, count: n - content.count) }
        files[p] = content
    }

    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 {
        guard let p = open[fd], let content = files[p] else { throw SystemCallError(call: "fstat", path: path, errno: EBADF) }
        return Int64(content.count)
    }

    func close(_ fd: Int32) { open[fd] = nil }

    func list(_ directory: String) throws(SystemCallError) -> [String] {
        guard directories.contains(directory) else { throw SystemCallError(call: "opendir", path: directory, errno: ENOENT) }
        let prefix = directory + "/"
        let entries = files.keys.map { $0 } + directories.map { $0 }
        return entries.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
            .map { String($0.dropFirst(prefix.count)) }
    }

    func makeDirectory(_ path: String) throws(SystemCallError) { directories.insert(path) }

    func remove(_ path: String) throws(SystemCallError) {
        guard files.removeValue(forKey: path) != nil else { throw SystemCallError(call: "unlink", path: path, errno: ENOENT) }
    }

    private func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }
}

// The fuzzer calls one input at a time on one thread, and each input builds its own instance: no
// instance is ever shared between threads, which is what `JournalFileSystem: Sendable` is about.
extension MemoryFileSystem: @unchecked Sendable {}
