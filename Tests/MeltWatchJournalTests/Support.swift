#if canImport(Glibc)
import Glibc
#endif
import MeltWatchCore
import NIOConcurrencyHelpers

@testable import MeltWatchJournal

let t0: Int64 = 1_763_884_800_000
func at(_ ms: Int64) -> EventTime { EventTime(milliseconds: t0 + ms) }

/// A fresh empty directory under /tmp, removed by `cleanup`.
func temporaryDirectory() -> String {
    var template = Array("/tmp/meltwatch-journal-XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!)
}

func cleanup(_ dir: String) {
    _ = system("rm -rf '\(dir)'")
}

/// A message record with a recognisable payload.
func message(_ i: Int, payloadBytes: Int = 40) -> JournalRecord {
    var payload = Array("{\"ts\":\(t0 + Int64(i)),\"v\":\(i),\"seq\":\(i)}".utf8)
    while payload.count < payloadBytes { payload.append(UInt8(ascii: " ")) }
    return .message(JournalMessage(receivedAt: at(Int64(i)), qos: 1, topic: Array("plants/p/e/role".utf8), payload: payload))
}

func readAll(_ dir: String) throws -> [JournalRecord] {
    var out: [JournalRecord] = []
    try JournalReader(directory: dir).forEach { _, r in out.append(r) }
    return out
}

func fileBytes(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "rb") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        out += chunk[0..<n]
    }
    return out
}

func writeFile(_ path: String, _ bytes: [UInt8]) {
    let f = fopen(path, "wb")!
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
}

/// The real file system with faults scripted per call: the seam's test double.
final class FaultyFileSystem: JournalFileSystem {
    enum Fault: Equatable {
        /// The next write fails with this errno.
        case writeError(Int32)
        /// The next write writes at most this many bytes.
        case shortWrite(Int)
        /// The next data sync fails with this errno.
        case syncError(Int32)
    }

    private let real = POSIXFileSystem()
    private let faults = NIOLockedValueBox<[Fault]>([])
    private let counts = NIOLockedValueBox<(writes: Int, syncs: Int)>((0, 0))

    /// Queues faults, consumed in order by the calls they apply to.
    func inject(_ f: Fault...) { faults.withLockedValue { $0 += f } }
    var syncs: Int { counts.withLockedValue { $0.syncs } }

    private func take(_ match: (Fault) -> Bool) -> Fault? {
        faults.withLockedValue { list in
            guard let i = list.firstIndex(where: match) else { return nil }
            return list.remove(at: i)
        }
    }

    func open(_ path: String, write: Bool, create: Bool, exclusive: Bool) throws(SystemCallError) -> Int32 {
        try real.open(path, write: write, create: create, exclusive: exclusive)
    }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemCallError) -> Int {
        counts.withLockedValue { $0.writes += 1 }
        switch take({ if case .syncError = $0 { return false } else { return true } }) {
        case .writeError(let e)?: throw SystemCallError(call: "write", path: path, errno: e)
        case .shortWrite(let n)?: return try real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[0..<min(n, bytes.count)]), path: path)
        default: return try real.write(fd, bytes, path: path)
        }
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws(SystemCallError) -> Int {
        try real.read(fd, into: buffer, at: offset, path: path)
    }

    func dataSync(_ fd: Int32, path: String) throws(SystemCallError) {
        counts.withLockedValue { $0.syncs += 1 }
        if case .syncError(let e)? = take({ if case .syncError = $0 { return true } else { return false } }) {
            throw SystemCallError(call: "fdatasync", path: path, errno: e)
        }
        try real.dataSync(fd, path: path)
    }

    func syncDirectory(_ path: String) throws(SystemCallError) { try real.syncDirectory(path) }
    func truncate(_ fd: Int32, to length: Int64, path: String) throws(SystemCallError) { try real.truncate(fd, to: length, path: path) }
    func size(_ fd: Int32, path: String) throws(SystemCallError) -> Int64 { try real.size(fd, path: path) }
    func close(_ fd: Int32) { real.close(fd) }
    func list(_ directory: String) throws(SystemCallError) -> [String] { try real.list(directory) }
    func makeDirectory(_ path: String) throws(SystemCallError) { try real.makeDirectory(path) }
    func remove(_ path: String) throws(SystemCallError) { try real.remove(path) }
}

