import CZlib
import Foundation
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchHazards
import MeltWatchJournal
import MeltWatchRules
import NIOConcurrencyHelpers

/// What a checkpoint holds: the engine's and the alarm book's whole state after every journal record
/// before its position, and the configuration they ran (its text, so recovery can rebuild the model
/// the state belongs to even when the file has changed since).
///
/// Taken on the engine thread (``capture(_:configBytes:)``: copies, microseconds), encoded on
/// another (``encoded()``). Stored as `MWC1`, the header's length (u32 LE), the header (JSON:
/// layout version, config hash and text), the state's JSON length (u64 LE), the state's JSON
/// deflated: recovery reads the header without inflating or parsing the state.
struct StageCheckpoint: Sendable {
    /// Bumped when the layout changes; recovery skips a checkpoint of another version.
    static let version = 1
    static let magic: [UInt8] = Array("MWC1".utf8)

    var configHash: String
    var configText: String
    var engine: EngineCheckpoint
    var book: AlarmBook.Snapshot
    /// The hazard records not closed and what the desk tracks (nil in checkpoints before hazards).
    var hazards: HazardDesk.Snapshot?

    struct Header: Codable {
        var version: Int
        var configHash: String
        var configText: String
    }

    private struct Body: Encodable {
        var engine: EngineCheckpoint
        var book: AlarmBook.Snapshot
        var hazards: HazardDesk.Snapshot?
    }

    private struct Decoded: Decodable {
        var engine: EngineCheckpoint
        var book: AlarmBook.Snapshot
        var hazards: HazardDesk.Snapshot?
    }

    /// Non-finite numbers (a limit of infinity, a rate not yet known) survive the round trip.
    private static let floats = (positive: "+inf", negative: "-inf", nan: "nan")

    /// The stage's state now, with the configuration it runs (engine thread, between inputs).
    static func capture(_ stage: AlarmStage, configBytes: [UInt8]) -> StageCheckpoint {
        StageCheckpoint(configHash: stage.engine.model.configHash, configText: String(decoding: configBytes, as: UTF8.self),
                        engine: stage.engine.checkpoint(), book: stage.book.snapshot, hazards: stage.hazards.snapshot)
    }

    /// The bytes a `checkpoint` record carries.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: Self.floats.positive, negativeInfinity: Self.floats.negative, nan: Self.floats.nan)
        let header = Array(try JSONEncoder().encode(Header(version: Self.version, configHash: configHash, configText: configText)))
        let json = Array(try encoder.encode(Body(engine: engine, book: book, hazards: hazards)))
        var out = Self.magic
        out.appendLittleEndian(UInt64(header.count), bytes: 4)
        out += header
        out.appendLittleEndian(UInt64(json.count), bytes: 8)
        out += try Zlib.compress(json)
        return out
    }

    /// The header of stored checkpoint bytes: the configuration it was taken with (the model to
    /// restore into comes from it); ``state(_:)`` then gives the state's JSON.
    static func header(_ stored: [UInt8]) throws -> Header {
        let (header, _) = try split(stored)
        return header
    }

    /// The state's JSON inside stored checkpoint bytes.
    static func state(_ stored: [UInt8]) throws -> [UInt8] {
        let (_, body) = try split(stored)
        guard body.count >= 8 else { throw CheckpointMismatch(description: "checkpoint cut short") }
        let length = body.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= 1 << 34 else { throw CheckpointMismatch(description: "checkpoint state length \(length) out of range") }
        return try Zlib.decompress(Array(body.dropFirst(8)), length: Int(length))
    }

    private static func split(_ stored: [UInt8]) throws -> (Header, ArraySlice<UInt8>) {
        guard stored.count >= 8, Array(stored[0..<4]) == magic else {
            throw CheckpointMismatch(description: "not a checkpoint of this layout (no MWC1 header)")
        }
        let length = Int(stored[4..<8].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard 8 + length <= stored.count else { throw CheckpointMismatch(description: "checkpoint header cut short") }
        let header = try JSONDecoder().decode(Header.self, from: Data(stored[8..<8 + length]))
        guard header.version == version else {
            throw CheckpointMismatch(description: "checkpoint layout version \(header.version), this build reads \(version)")
        }
        return (header, stored[(8 + length)...])
    }

    /// Restores `stage` (built from the checkpoint's configuration) to the state in `json`.
    static func restore(_ json: [UInt8], into stage: AlarmStage, settings: AlarmBook.Settings) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: floats.positive, negativeInfinity: floats.negative, nan: floats.nan)
        decoder.userInfo[EngineCheckpoint.modelKey] = stage.engine.model
        let decoded = try decoder.decode(Decoded.self, from: Data(json))
        try stage.engine.restore(decoded.engine)
        stage.replaceBook(AlarmBook(settings: settings, snapshot: decoded.book))
        if let hazards = decoded.hazards { stage.replaceHazards(HazardDesk(settings: stage.hazards.settings, snapshot: hazards)) }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian(_ v: UInt64, bytes: Int) {
        for i in 0..<bytes { append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) }
    }
}

/// zlib's one-shot API.
enum Zlib {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Deflates `bytes` at the fastest level (checkpoints are mostly repeated keys and zeros).
    static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, uLong(bytes.count), Z_BEST_SPEED) }
        }
        guard status == Z_OK else { throw Failure(description: "zlib compress2 failed (\(status))") }
        out.removeLast(out.count - Int(size))
        return out
    }

    /// Inflates to exactly `length` bytes, or throws.
    static func decompress(_ bytes: [UInt8], length: Int) throws -> [UInt8] {
        var size = uLong(length)
        var out = [UInt8](repeating: 0, count: length)
        let status = out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &size, i.baseAddress, uLong(bytes.count)) }
        }
        guard status == Z_OK, Int(size) == length else {
            throw Failure(description: "checkpoint data does not inflate (zlib \(status), \(size) of \(length) bytes)")
        }
        return out
    }
}

/// Puts a checkpoint's parts back together as a reader meets them (in journal order).
struct CheckpointAssembler {
    private var parts: [UInt8] = []
    private var expected: (position: JournalPosition, next: Int, count: Int)?

    /// Adds a part; returns the whole checkpoint (the position its state belongs to, its bytes)
    /// when this was its last part. Parts out of order make no checkpoint.
    mutating func add(state: JournalPosition, part: Int, count: Int, data: UnsafeRawBufferPointer) -> (state: JournalPosition, data: [UInt8])? {
        if part == 0 {
            parts = Array(data)
            expected = (state, 1, count)
        } else if let e = expected, e.position == state, e.next == part, e.count == count {
            parts.append(contentsOf: data)
            expected = (state, part + 1, count)
        } else {
            expected = nil
            return nil
        }
        guard let e = expected, e.next == e.count else { return nil }
        expected = nil
        return (state, parts)
    }
}

/// Where the ingest thread and the engine thread meet over checkpoints: the ingest thread asks at a
/// point of the stream (a ticket in the ring naming the journal position), the engine thread encodes
/// its state when it reaches the ticket, and the ingest thread journals the parts at its next turn.
final class CheckpointDesk: Sendable {
    private struct State {
        var nextTicket = 0
        var requested: [Int: (position: JournalPosition, time: EventTime)] = [:]
        var ready: [CheckpointPart] = []
    }

    private let state = NIOLockedValueBox(State())

    /// A request for the state after every record before `position`; put the ticket into the ring.
    func request(position: JournalPosition, time: EventTime) -> Int {
        state.withLockedValue { s in
            s.nextTicket += 1
            s.requested[s.nextTicket] = (position, time)
            return s.nextTicket
        }
    }

    /// The engine thread reached `ticket`.
    func take(_ ticket: Int) -> (position: JournalPosition, time: EventTime)? {
        state.withLockedValue { $0.requested.removeValue(forKey: ticket) }
    }

    /// The engine thread's encoded state, to journal.
    func completed(_ data: [UInt8], position: JournalPosition, time: EventTime) {
        let parts = CheckpointPart.split(data, time: time, position: position)
        state.withLockedValue { $0.ready.append(contentsOf: parts) }
    }

    /// The parts to journal now (whole checkpoints only).
    func takeReady() -> [CheckpointPart] {
        state.withLockedValue { s in
            defer { s.ready.removeAll() }
            return s.ready
        }
    }
}
