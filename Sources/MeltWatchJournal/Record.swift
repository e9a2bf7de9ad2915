import MeltWatchCore

/// What the journal holds: every message exactly as received (rejected ones too), and what the
/// engine needs to replay them deterministically — the clock ticks it saw and the config it ran.
public enum JournalRecord: Sendable, Equatable {
    /// A gateway message as received from the broker.
    case message(JournalMessage)
    /// A clock tick the engine processed (daemon wall clock).
    case tick(EventTime)
    /// The configuration in force from `time`: its hash (`sha256:…`) and the file's bytes.
    case config(time: EventTime, hash: String, text: [UInt8])
    /// A configuration reloaded at `time` (SIGHUP), at the point of the stream where the engine
    /// switched to it: the rules of unchanged equipment continue, the others start fresh.
    case reload(time: EventTime, hash: String, text: [UInt8])
    /// An alarm action (an operator's acknowledgement, shelve…, or the daemon's own alarm), as JSON,
    /// at the point of the stream where the engine thread applied it.
    case action(time: EventTime, data: [UInt8])
    /// The alarm book as the daemon resumed it at a start (JSON): where replay's lifecycle begins.
    case alarmState(time: EventTime, data: [UInt8])
    /// An entry of the alarm outbox (kept in its own directory): a stored alarm event.
    case outbox(time: EventTime, data: [UInt8])
    /// One part of a checkpoint: the engine's and the alarm book's state after every record before
    /// `position` (written later than that point, once the engine thread got there).
    case checkpoint(CheckpointPart)
    /// The broker link went down (`up` false) or came back, at this daemon time: the engine judges
    /// nothing on the daemon clock while it is down. A start records the link down at the time the
    /// previous run's stream ended.
    case link(time: EventTime, up: Bool)
    /// The daemon clock was rebased by `delta` ms at `time` (new base) because the wall clock stepped;
    /// every record after it is in the new base.
    case clockStep(time: EventTime, delta: Int64)
    /// The state of the stateful gateway formats (Sparkplug sessions: births, aliases, sequence
    /// numbers) at this point of the stream, written where a checkpoint's state begins: replay from
    /// that checkpoint (or from any earlier start) reads on with the gateways' state exactly.
    case gatewayState(time: EventTime, data: [UInt8])

    /// The record's time: receive time, tick time, config time, or when the note was written.
    public var time: EventTime {
        switch self {
        case .message(let m): m.receivedAt
        case .tick(let t): t
        case .config(let t, _, _), .reload(let t, _, _): t
        case .action(let t, _), .alarmState(let t, _), .outbox(let t, _), .gatewayState(let t, _): t
        case .checkpoint(let p): p.time
        case .link(let t, _), .clockStep(let t, _): t
        }
    }
}

/// A checkpoint is stored as `parts` records (a frame holds at most ``JournalFormat/maxBodyBytes``),
/// in order, each naming the position the state belongs to.
public struct CheckpointPart: Sendable, Equatable {
    /// When the checkpoint was taken (the daemon clock of the tick that asked for it).
    public var time: EventTime
    /// The state is that after every record before this position; replay resumes here.
    public var position: JournalPosition
    public var part: Int
    public var parts: Int
    public var data: [UInt8]

    public init(time: EventTime, position: JournalPosition, part: Int, parts: Int, data: [UInt8]) {
        self.time = time
        self.position = position
        self.part = part
        self.parts = parts
        self.data = data
    }

    /// The most data one part carries.
    public static let maxData = JournalFormat.maxBodyBytes - 64

    /// `data` cut into parts of at most ``maxData`` bytes.
    public static func split(_ data: [UInt8], time: EventTime, position: JournalPosition) -> [CheckpointPart] {
        let count = max(1, (data.count + maxData - 1) / maxData)
        return (0..<count).map { i in
            CheckpointPart(time: time, position: position, part: i, parts: count,
                           data: Array(data[min(data.count, i * maxData)..<min(data.count, (i + 1) * maxData)]))
        }
    }
}

/// One MQTT message as the daemon received it.
public struct JournalMessage: Sendable, Equatable {
    /// The daemon's clock when the message was read from the socket.
    public var receivedAt: EventTime
    public var qos: UInt8
    /// The topic's bytes (UTF-8 by MQTT, kept as received).
    public var topic: [UInt8]
    /// The payload's bytes, as received.
    public var payload: [UInt8]

    /// Creates a message record.
    public init(receivedAt: EventTime, qos: UInt8, topic: [UInt8], payload: [UInt8]) {
        self.receivedAt = receivedAt
        self.qos = qos
        self.topic = topic
        self.payload = payload
    }
}

/// The on-disk format. All integers little-endian.
///
/// A segment starts with a 32-byte header: `MWJ1`, format version (u32), segment sequence (u64),
/// creation time (i64 ms), CRC-32C of the previous 24 bytes (u32), 4 zero bytes. Then frames, each
/// 8-byte aligned:
///
///     u32 bodyLength | u32 crc32c(bodyLength bytes ++ body) | body | zero padding to 8
///
/// A body is a type byte and its fields: message (1) `i64 receivedAt, u8 qos, u16 topicLength,
/// topic, payload`; tick (2) `i64 time`; config (3) and reload (7) `i64 time, u16 hashLength, hash, text`; action (4),
/// alarm state (5) and outbox entry (6) `i64 time, data`; checkpoint part (8) `i64 time, u64 segment,
/// i64 offset, u32 part, u32 parts, data`; link (9) `i64 time, u8 up`; clock step (10) `i64 time,
/// i64 delta`. The
/// checksum covers the length, so a torn or garbled length is caught like a garbled body.
public enum JournalFormat {
    public static let magic: [UInt8] = Array("MWJ1".utf8)
    public static let version: UInt32 = 1
    public static let headerBytes = 32
    public static let frameHeaderBytes = 8
    /// Larger bodies are corruption: a message is at most 64 KiB of payload plus its topic.
    public static let maxBodyBytes = 1 << 20

    enum Kind: UInt8 {
        case message = 1, tick = 2, config = 3, action = 4, alarmState = 5, outbox = 6, reload = 7, checkpoint = 8, link = 9, clockStep = 10, gatewayState = 11
    }

    /// The segment header for `sequence`, created at `created`.
    static func header(sequence: UInt64, created: EventTime) -> [UInt8] {
        var h = magic
        h.appendLE(version)
        h.appendLE(sequence)
        h.appendLE(UInt64(bitPattern: created.milliseconds))
        h.appendLE(CRC32C.checksum(h))
        h.append(contentsOf: [0, 0, 0, 0])
        return h
    }

    /// The sequence in a valid header, nil when the header is missing, short or damaged.
    static func parseHeader(_ b: UnsafeRawBufferPointer) -> (sequence: UInt64, created: EventTime)? {
        guard b.count >= headerBytes, Array(b[0..<4]) == magic, b.loadLE(UInt32.self, at: 4) == version,
              b.loadLE(UInt32.self, at: 24) == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[0..<24]))
        else { return nil }
        return (b.loadLE(UInt64.self, at: 8), EventTime(milliseconds: Int64(bitPattern: b.loadLE(UInt64.self, at: 16))))
    }

    /// Appends one framed message record to `buffer`.
    ///
    /// The topic's length is stored in 16 bits: an MQTT topic name is at most 65 535 bytes (its
    /// length is a 16-bit field on the wire, MQTT 3.1.1 §1.5.3), so every topic a broker delivers fits.
    static func appendMessage(topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8,
                              receivedAt: EventTime, to buffer: inout [UInt8]) {
        assert(topic.count <= Int(UInt16.max), "an MQTT topic is at most 65535 bytes")
        let start = beginFrame(&buffer)
        buffer.append(Kind.message.rawValue)
        buffer.appendLE(UInt64(bitPattern: receivedAt.milliseconds))
        buffer.append(qos)
        buffer.appendLE(UInt16(truncatingIfNeeded: topic.count))
        buffer.append(contentsOf: topic)
        buffer.append(contentsOf: payload)
        endFrame(&buffer, start: start)
    }

    /// Appends one framed record of any kind to `buffer`.
    static func append(_ record: JournalRecord, to buffer: inout [UInt8]) {
        switch record {
        case .message(let m):
            m.topic.withUnsafeBytes { t in
                m.payload.withUnsafeBytes { p in appendMessage(topic: t, payload: p, qos: m.qos, receivedAt: m.receivedAt, to: &buffer) }
            }
        case .tick(let time):
            let start = beginFrame(&buffer)
            buffer.append(Kind.tick.rawValue)
            buffer.appendLE(UInt64(bitPattern: time.milliseconds))
            endFrame(&buffer, start: start)
        case .config(let time, let hash, let text), .reload(let time, let hash, let text):
            let start = beginFrame(&buffer)
            if case .reload = record { buffer.append(Kind.reload.rawValue) } else { buffer.append(Kind.config.rawValue) }
            buffer.appendLE(UInt64(bitPattern: time.milliseconds))
            let h = Array(hash.utf8)  // "sha256:" and 64 hex digits
            assert(h.count <= Int(UInt16.max))
            buffer.appendLE(UInt16(truncatingIfNeeded: h.count))
            buffer.append(contentsOf: h)
            buffer.append(contentsOf: text)
            endFrame(&buffer, start: start)
        case .action(let time, let data): appendNote(.action, time, data, to: &buffer)
        case .alarmState(let time, let data): appendNote(.alarmState, time, data, to: &buffer)
        case .outbox(let time, let data): appendNote(.outbox, time, data, to: &buffer)
        case .gatewayState(let time, let data): appendNote(.gatewayState, time, data, to: &buffer)
        case .checkpoint(let p):
            let start = beginFrame(&buffer)
            buffer.append(Kind.checkpoint.rawValue)
            buffer.appendLE(UInt64(bitPattern: p.time.milliseconds))
            buffer.appendLE(p.position.segment)
            buffer.appendLE(UInt64(bitPattern: Int64(p.position.offset)))
            buffer.appendLE(UInt32(p.part))
            buffer.appendLE(UInt32(p.parts))
            buffer.append(contentsOf: p.data)
            endFrame(&buffer, start: start)
        case .link(let time, let up):
            let start = beginFrame(&buffer)
            buffer.append(Kind.link.rawValue)
            buffer.appendLE(UInt64(bitPattern: time.milliseconds))
            buffer.append(up ? 1 : 0)
            endFrame(&buffer, start: start)
        case .clockStep(let time, let delta):
            let start = beginFrame(&buffer)
            buffer.append(Kind.clockStep.rawValue)
            buffer.appendLE(UInt64(bitPattern: time.milliseconds))
            buffer.appendLE(UInt64(bitPattern: delta))
            endFrame(&buffer, start: start)
        }
    }

    private static func appendNote(_ kind: Kind, _ time: EventTime, _ data: [UInt8], to buffer: inout [UInt8]) {
        let start = beginFrame(&buffer)
        buffer.append(kind.rawValue)
        buffer.appendLE(UInt64(bitPattern: time.milliseconds))
        buffer.append(contentsOf: data)
        endFrame(&buffer, start: start)
    }

    private static func beginFrame(_ buffer: inout [UInt8]) -> Int {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: frameHeaderBytes))
        return start
    }

    private static func endFrame(_ buffer: inout [UInt8], start: Int) {
        let bodyLength = UInt32(buffer.count - start - frameHeaderBytes)
        buffer.withUnsafeMutableBytes { b in
            b.storeBytes(of: bodyLength.littleEndian, toByteOffset: start, as: UInt32.self)
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[start..<start + 4]))
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[(start + frameHeaderBytes)...]), continuing: lengthCRC)
            b.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
        let padding = (8 - buffer.count % 8) % 8
        buffer.append(contentsOf: repeatElement(0, count: padding))
    }

    /// What is at `offset` of a segment's bytes.
    enum Frame {
        /// A valid record whose body is `body` (relative to the segment), and where the next frame starts.
        case record(body: Range<Int>, next: Int)
        /// The end of the data, exactly at a frame boundary.
        case end
        /// A frame that runs past the end of the data (a torn write).
        case incomplete
        /// A complete frame whose checksum, length or fields are wrong.
        case corrupt(String)
    }

    /// Checks the frame at `offset` (length, checksum, padding, field lengths) without copying it.
    static func frame(at offset: Int, in b: UnsafeRawBufferPointer) -> Frame {
        if offset == b.count { return .end }
        guard offset + frameHeaderBytes <= b.count else { return .incomplete }
        let length = Int(b.loadLE(UInt32.self, at: offset))
        guard length > 0, length <= maxBodyBytes else {
            return offset + frameHeaderBytes + max(length, 1) > b.count ? .incomplete : .corrupt("record length \(length) out of range")
        }
        let bodyStart = offset + frameHeaderBytes
        guard bodyStart + length <= b.count else { return .incomplete }
        let stored = b.loadLE(UInt32.self, at: offset + 4)
        let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: b[offset..<offset + 4]))
        let body = UnsafeRawBufferPointer(rebasing: b[bodyStart..<bodyStart + length])
        guard CRC32C.checksum(body, continuing: lengthCRC) == stored else { return .corrupt("checksum mismatch") }
        // The padding is written with the record: a record without it was torn mid-write.
        let next = bodyStart + length + (8 - length % 8) % 8
        guard next <= b.count else { return .incomplete }
        guard view(body) != nil else { return .corrupt("unknown record type or short fields") }
        return .record(body: bodyStart..<bodyStart + length, next: next)
    }

    /// A record's fields, pointing into the segment's bytes; nil when the body is malformed.
    static func view(_ body: UnsafeRawBufferPointer) -> JournalRecordView? {
        guard let kind = Kind(rawValue: body[0]) else { return nil }
        switch kind {
        case .message:
            guard body.count >= 12 else { return nil }
            let time = EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1)))
            let topicLength = Int(body.loadLE(UInt16.self, at: 10))
            guard 12 + topicLength <= body.count else { return nil }
            return .message(receivedAt: time, qos: body[9], topic: UnsafeRawBufferPointer(rebasing: body[12..<12 + topicLength]),
                            payload: UnsafeRawBufferPointer(rebasing: body[(12 + topicLength)...]))
        case .tick:
            guard body.count == 9 else { return nil }
            return .tick(EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1))))
        case .config, .reload:
            guard body.count >= 11 else { return nil }
            let time = EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1)))
            let hashLength = Int(body.loadLE(UInt16.self, at: 9))
            guard 11 + hashLength <= body.count else { return nil }
            let hash = UnsafeRawBufferPointer(rebasing: body[11..<11 + hashLength])
            let text = UnsafeRawBufferPointer(rebasing: body[(11 + hashLength)...])
            return kind == .config ? .config(time: time, hash: hash, text: text) : .reload(time: time, hash: hash, text: text)
        case .action, .alarmState, .outbox, .gatewayState:
            guard body.count >= 9 else { return nil }
            let time = EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1)))
            let data = UnsafeRawBufferPointer(rebasing: body[9...])
            switch kind {
            case .action: return .action(time: time, data: data)
            case .alarmState: return .alarmState(time: time, data: data)
            case .gatewayState: return .gatewayState(time: time, data: data)
            default: return .outbox(time: time, data: data)
            }
        case .checkpoint:
            guard body.count >= 33 else { return nil }
            let time = EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1)))
            let position = JournalPosition(segment: body.loadLE(UInt64.self, at: 9), offset: Int(Int64(bitPattern: body.loadLE(UInt64.self, at: 17))))
            let part = Int(body.loadLE(UInt32.self, at: 25)), parts = Int(body.loadLE(UInt32.self, at: 29))
            guard parts > 0, part < parts else { return nil }
            return .checkpoint(time: time, position: position, part: part, parts: parts, data: UnsafeRawBufferPointer(rebasing: body[33...]))
        case .link:
            guard body.count == 10, body[9] <= 1 else { return nil }
            return .link(time: EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1))), up: body[9] == 1)
        case .clockStep:
            guard body.count == 17 else { return nil }
            return .clockStep(time: EventTime(milliseconds: Int64(bitPattern: body.loadLE(UInt64.self, at: 1))),
                              delta: Int64(bitPattern: body.loadLE(UInt64.self, at: 9)))
        }
    }
}

/// A record read in place: its fields point into the segment's bytes and are valid only during
/// the callback that receives them (replay reads millions of messages without copying any).
public enum JournalRecordView {
    case message(receivedAt: EventTime, qos: UInt8, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer)
    case tick(EventTime)
    case config(time: EventTime, hash: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer)
    case reload(time: EventTime, hash: UnsafeRawBufferPointer, text: UnsafeRawBufferPointer)
    case action(time: EventTime, data: UnsafeRawBufferPointer)
    case alarmState(time: EventTime, data: UnsafeRawBufferPointer)
    case outbox(time: EventTime, data: UnsafeRawBufferPointer)
    case gatewayState(time: EventTime, data: UnsafeRawBufferPointer)
    case checkpoint(time: EventTime, position: JournalPosition, part: Int, parts: Int, data: UnsafeRawBufferPointer)
    case link(time: EventTime, up: Bool)
    case clockStep(time: EventTime, delta: Int64)

    /// The record's time: receive time, tick time, config time, or when the note was written.
    public var time: EventTime {
        switch self {
        case .message(let t, _, _, _): t
        case .tick(let t): t
        case .config(let t, _, _), .reload(let t, _, _): t
        case .action(let t, _), .alarmState(let t, _), .outbox(let t, _), .gatewayState(let t, _): t
        case .checkpoint(let t, _, _, _, _): t
        case .link(let t, _), .clockStep(let t, _): t
        }
    }

    /// The record as an owned value.
    public var record: JournalRecord {
        switch self {
        case .message(let t, let qos, let topic, let payload):
            .message(JournalMessage(receivedAt: t, qos: qos, topic: Array(topic), payload: Array(payload)))
        case .tick(let t): .tick(t)
        case .config(let t, let hash, let text): .config(time: t, hash: String(decoding: hash, as: UTF8.self), text: Array(text))
        case .reload(let t, let hash, let text): .reload(time: t, hash: String(decoding: hash, as: UTF8.self), text: Array(text))
        case .action(let t, let data): .action(time: t, data: Array(data))
        case .alarmState(let t, let data): .alarmState(time: t, data: Array(data))
        case .outbox(let t, let data): .outbox(time: t, data: Array(data))
        case .gatewayState(let t, let data): .gatewayState(time: t, data: Array(data))
        case .checkpoint(let t, let position, let part, let parts, let data):
            .checkpoint(CheckpointPart(time: t, position: position, part: part, parts: parts, data: Array(data)))
        case .link(let t, let up): .link(time: t, up: up)
        case .clockStep(let t, let delta): .clockStep(time: t, delta: delta)
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}

extension UnsafeRawBufferPointer {
    func loadLE<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
