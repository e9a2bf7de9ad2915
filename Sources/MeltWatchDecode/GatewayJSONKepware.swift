import MeltWatchCore

/// KEPServerEX IoT Gateway's standard JSON (contract section 3, `kepware-iot`):
/// `{"timestamp":…,"values":[{"id":"Channel1.Device1.FT101","v":12.5,"q":true,"t":1763884800123},…]}`.
///
/// Each entry of `values` is one reading: `id` is the tag (plant-wide, bound by `signals.<role>.tag`),
/// `t` its event time in epoch milliseconds, `q` false makes it `bad` (true `good`), `v` a number or
/// boolean. The top-level `timestamp` (when the gateway published) and any other top-level field are
/// ignored: the reading's own time is its event time.
///
/// Strictness is the native decoder's, per entry: an entry that is not an object or lacks one of
/// `id`/`v`/`q`/`t` rejects the message (`missing_field`, `wrong_type`). Only `v` depends on the
/// binding: Kepware publishes string and array tags too, so an unbound entry's `v` may be any JSON
/// value (counted under `unknown_tag`), while a bound one must be a finite number or a boolean.
///
/// The same tag twice in one message gives two readings: with "send every update" Kepware lists
/// each change of a tag since the last publish, each with its own `t`, and every one of them is
/// evidence (the engine orders readings by event time).
///
/// Stateless: the class only holds its configuration.
public final class KepwareIoTFormat: GatewayFormat {
    public var formatName: String { "kepware-iot" }
    /// The tags bound to signals.
    public let tags: TagTable
    public let maxPayloadBytes: Int
    /// How far an entry's `t` may lie after the receiver's `now` before `future_timestamp`.
    public let maxFutureSkewMilliseconds: Int64
    /// Deepest container nesting allowed (payload 1, `values` 2, an entry 3): clamped to 3...64.
    public let maxNestingDepth: Int

    /// Creates the format for one plant's bound tags.
    public init(
        tags: TagTable, maxPayloadBytes: Int = 65_536, maxFutureSkewMilliseconds: Int64 = 300_000,
        maxNestingDepth: Int = 32
    ) {
        self.tags = tags
        self.maxPayloadBytes = maxPayloadBytes
        self.maxFutureSkewMilliseconds = max(0, maxFutureSkewMilliseconds)
        self.maxNestingDepth = min(max(maxNestingDepth, 3), 64)
    }

    public func decode(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: EventTime,
        into out: inout [Reading], effects: inout GatewayEffects
    ) -> Result<DecodeOutcome, DecodeError> {
        decodeGatewayJSON(payload: payload, maxPayloadBytes: maxPayloadBytes, maxDepth: maxNestingDepth, into: &out) {
            (parser, out) throws(DecodeError) in
            try parser.parseKepware(tags: tags, now: now, maxFutureSkew: maxFutureSkewMilliseconds, into: &out)
        }
    }
}

/// Kepware's top-level keys.
enum KepwareKey: UInt32, GatewayKey {
    case other = 0, values = 1

    static func classify(_ k: UnsafeRawBufferPointer) -> KepwareKey { equalsLiteral(k, "values") ? .values : .other }
    var bit: UInt32 { rawValue }
    var name: String { self == .values ? "values" : "?" }
}

/// The keys of one entry of Kepware's `values`.
enum KepwareEntryKey: UInt32, GatewayKey {
    case other = 0, id = 1, v = 2, q = 4, t = 8

    static func classify(_ k: UnsafeRawBufferPointer) -> KepwareEntryKey {
        switch k.count {
        case 1:
            switch k[0] {
            case UInt8(ascii: "v"): .v
            case UInt8(ascii: "q"): .q
            case UInt8(ascii: "t"): .t
            default: .other
            }
        case 2: k[0] == UInt8(ascii: "i") && k[1] == UInt8(ascii: "d") ? .id : .other
        default: .other
        }
    }

    var bit: UInt32 { rawValue }
    var name: String {
        switch self {
        case .id: "id"
        case .v: "v"
        case .q: "q"
        case .t: "t"
        case .other: "?"
        }
    }

    /// The keys every entry must have, in the order a missing one is reported.
    static let required: [KepwareEntryKey] = [.id, .v, .q, .t]
}

extension PayloadParser {
    /// Parses a Kepware IoT Gateway payload, appending a reading per bound entry as it is read.
    mutating func parseKepware(
        tags: TagTable, now: EventTime, maxFutureSkew: Int64, into out: inout [Reading]
    ) throws(DecodeError) -> DecodeOutcome {
        let start = out.count
        var unknownTags = 0
        var sawValues = false
        if var top = try openPayloadObject() {
            repeat {
                switch try memberKey(&top, as: KepwareKey.self) {
                case .values:
                    sawValues = true
                    try parseKepwareValues(tags: tags, now: now, maxFutureSkew: maxFutureSkew, unknownTags: &unknownTags, into: &out)
                case .other:
                    _ = try cursor.scanValue(depth: 1)
                }
            } while !(try cursor.endOfMember("',' or '}' after a member"))
            try cursor.expectEndOfPayload()
            try finishObject(top, inside: "the payload")
        }
        if !sawValues { noteMissing("values", "(kepware-iot: the array of tag entries)") }
        return DecodeOutcome(readings: out.count - start, unknownTags: unknownTags)
    }

    /// `values`: an array of entry objects, at least one.
    private mutating func parseKepwareValues(
        tags: TagTable, now: EventTime, maxFutureSkew: Int64, unknownTags: inout Int, into out: inout [Reading]
    ) throws(DecodeError) {
        let at = cursor.index
        guard cursor.peek() == UInt8(ascii: "[") else {
            let found = try cursor.scanValue(depth: 1)
            if case .nonFinite = found { return }
            noteWrongType("values", at, "an array of tag entries", found)
            return
        }
        guard try cursor.enter(parentDepth: 1) else {
            cursor.note(DecodeError(reason: .emptyBatch, detail: "field \"values\" at byte \(at) is an empty array"))
            return
        }
        var n = 0
        repeat {
            try parseKepwareEntry(n, tags: tags, now: now, maxFutureSkew: maxFutureSkew, unknownTags: &unknownTags, into: &out)
            n += 1
        } while !(try cursor.endOfElement("',' or ']' in \"values\""))
    }

    /// One entry `{"id":…,"v":…,"q":…,"t":…}`, its keys in any order. `v` is kept as scanned
    /// until the entry ends: whether it must be a number depends on `id`, which may follow it.
    private mutating func parseKepwareEntry(
        _ n: Int, tags: TagTable, now: EventTime, maxFutureSkew: Int64, unknownTags: inout Int, into out: inout [Reading]
    ) throws(DecodeError) {
        let open = cursor.index
        guard cursor.peek() == UInt8(ascii: "{") else {
            let found = try cursor.scanValue(depth: 2)
            if case .nonFinite = found { return }
            cursor.note(DecodeError(
                reason: .wrongType, detail: "entry \(n) of \"values\" at byte \(open): expected an object, found \(found.name)"
            ))
            return
        }
        var entry = KeyTracker(open: open, depth: 3)
        var id: StringToken?
        var value: ScannedValue?
        var valueAt = 0
        var good: Bool?
        var time: EventTime?
        var timeAt = 0
        if try cursor.enter(parentDepth: 2) {
            repeat {
                let key = try memberKey(&entry, as: KepwareEntryKey.self)
                let at = cursor.index
                switch key {
                case .id:
                    switch try cursor.scanValue(depth: 3) {
                    case .string(let s): id = s
                    case .nonFinite: break
                    case let other: noteWrongType("id", at, "a string", other)
                    }
                case .v:
                    value = try cursor.scanValue(depth: 3)
                    valueAt = at
                case .q:
                    switch try cursor.scanValue(depth: 3) {
                    case .bool(let b): good = b
                    case .nonFinite: break
                    case let other: noteWrongType("q", at, "a boolean", other)
                    }
                case .t:
                    timeAt = at
                    time = epochMilliseconds(try cursor.scanValue(depth: 3), "field \"t\" at byte \(at)")
                case .other:
                    _ = try cursor.scanValue(depth: 3)
                }
            } while !(try cursor.endOfMember("',' or '}' in an entry of \"values\""))
            try finishObject(entry, inside: "entry \(n) of \"values\"")
        }
        for key in KepwareEntryKey.required where entry.known & key.bit == 0 {
            noteMissing(key.name, "in entry \(n) of \"values\" at byte \(open)")
            return
        }
        // A wrongly typed field was noted when it was read.
        guard let id, let value, let good, let time else { return }
        checkFuture(time, now: now, maxFutureSkew: maxFutureSkew, "field \"t\" at byte \(timeAt)")
        let payload = cursor.bytes
        guard let signal = withContent(id, { tags.signal(forTagBytes: $0) }) else {
            unknownTags += 1
            checkUnboundValue(value, "field \"v\" at byte \(valueAt) (tag \(quotedString(id, in: payload)))")
            return
        }
        guard let v = boundValue(value, "field \"v\" at byte \(valueAt) (tag \(quotedString(id, in: payload)))") else { return }
        out.append(Reading(signal: signal, value: v, quality: good ? .good : .bad, time: time, sequence: nil))
    }
}
