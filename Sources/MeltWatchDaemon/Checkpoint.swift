import Foundation
import MeltWatchAlarms
import MeltWatchCore
import MeltWatchJournal
import MeltWatchRules
import NIOConcurrencyHelpers

/// What a checkpoint holds: the engine's and the alarm book's whole state after every journal record
/// before `position`, and the configuration they ran (its text, so recovery can rebuild the model the
/// state belongs to even when the file has changed since). Stored as JSON in `checkpoint` records.
struct StageCheckpoint {
    /// Bumped when the layout changes; recovery skips a checkpoint of another version.
    static let version = 1

    struct Header: Codable {
        var version: Int
        var configHash: String
        var configText: String
    }

    private struct Body: Encodable {
        var version: Int
        var configHash: String
        var configText: String
        var engine: EngineCheckpoint
        var book: AlarmBook.Snapshot
    }

    private struct Decoded: Decodable {
        var engine: EngineCheckpoint
        var book: AlarmBook.Snapshot
    }

    /// Non-finite numbers (a limit of infinity, a rate not yet known) survive the round trip.
    private static let floats = (positive: "+inf", negative: "-inf", nan: "nan")

    /// The stage's state now, with the configuration it runs (call on the engine thread, between inputs).
    static func encode(_ stage: AlarmStage, configBytes: [UInt8]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: floats.positive, negativeInfinity: floats.negative, nan: floats.nan)
        let body = Body(version: version, configHash: stage.engine.model.configHash, configText: String(decoding: configBytes, as: UTF8.self),
                        engine: stage.engine.checkpoint(), book: stage.book.snapshot)
        return Array(try encoder.encode(body))
    }

    /// The configuration a checkpoint was taken with (read first: the model to restore into comes from it).
    static func header(_ data: [UInt8]) throws -> Header {
        let header = try JSONDecoder().decode(Header.self, from: Data(data))
        guard header.version == version else {
            throw CheckpointMismatch(description: "checkpoint layout version \(header.version), this build reads \(version)")
        }
        return header
    }

    /// Restores `stage` (built from the checkpoint's configuration) to the state in `data`.
    static func restore(_ data: [UInt8], into stage: AlarmStage, settings: AlarmBook.Settings) throws {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: floats.positive, negativeInfinity: floats.negative, nan: floats.nan)
        decoder.userInfo[EngineCheckpoint.modelKey] = stage.engine.model
        let decoded = try decoder.decode(Decoded.self, from: Data(data))
        try stage.engine.restore(decoded.engine)
        stage.replaceBook(AlarmBook(settings: settings, snapshot: decoded.book))
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
