import MeltWatchCore

// The JSON gateway formats of contract section 3 (`kepware-iot`, `neuron`, `json`) read payloads
// with the native decoder's ``PayloadParser``: the same cursor, number and string scanning, the same
// note-or-throw discipline and the same duplicate-key rules. They are more ways of walking one
// payload with it, hence extensions of it rather than a second parser: whatever makes the native
// format strict (UTF-8, NaN, depth, trailing bytes, duplicate keys) holds for them by construction.
//
// What is shared by the three lives here: the driver (oversize, atomic output), opening containers
// with the depth check, member keys with duplicate tracking, and the conversions every format needs
// (a bound reading's value, epoch milliseconds, the future-skew check).

/// Runs one gateway format's parse with the native decoder's guarantees: `oversize` before any
/// parsing, the first noted content error thrown once the payload is known to be well formed, and
/// `out` unchanged on any reject.
@inline(__always)
func decodeGatewayJSON(
    payload: UnsafeRawBufferPointer, maxPayloadBytes: Int, maxDepth: Int, into out: inout [Reading],
    _ parse: (inout PayloadParser, inout [Reading]) throws(DecodeError) -> DecodeOutcome
) -> Result<DecodeOutcome, DecodeError> {
    guard payload.count <= maxPayloadBytes else {
        return .failure(DecodeError(
            reason: .oversize, detail: "payload of \(payload.count) bytes exceeds the limit of \(maxPayloadBytes) bytes"
        ))
    }
    let start = out.count
    var parser = PayloadParser(bytes: payload, maxDepth: maxDepth)
    do throws(DecodeError) {
        let outcome = try parse(&parser, &out)
        if let error = parser.cursor.pending { throw error }
        return .success(outcome)
    } catch {
        // Readings are appended as they are read; a reject must add none of them.
        if out.count > start { out.removeSubrange(start...) }
        return .failure(error)
    }
}

/// The keys a gateway format gives a meaning to in one kind of object, one bit each (0: any other key).
protocol GatewayKey {
    /// Classifies a key's unescaped bytes.
    static func classify(_ key: UnsafeRawBufferPointer) -> Self
    /// The key's bit; 0 for keys without a meaning (tracked through the Bloom filter).
    var bit: UInt32 { get }
    /// The key as the format spells it, for messages.
    var name: String { get }
}

/// The keys met so far in one object: the meaningful ones exactly (a bit each), the others in a
/// 64-bit Bloom filter as at the native top level; ``PayloadParser/finishObject(_:inside:)`` runs
/// the exact O(n log n) check only when two of those share a bit.
struct KeyTracker {
    /// Offset of the object's `{`.
    let open: Int
    /// The object's own nesting level (the top-level object is 1).
    let depth: Int
    var known: UInt32 = 0
    var bloom: UInt64 = 0
    var recheck = false

    init(open: Int, depth: Int) {
        self.open = open
        self.depth = depth
    }

    /// Records a key with a meaning; true when it was already met.
    @inline(__always) mutating func meet(bit: UInt32) -> Bool {
        defer { known |= bit }
        return known & bit != 0
    }

    /// Records any other key by its hash.
    @inline(__always) mutating func meet(hash: UInt64) {
        let bit: UInt64 = 1 << (hash & 63)
        if bloom & bit != 0 { recheck = true }
        bloom |= bit
    }
}

extension JSONCursor {
    /// Opens the container at `index` (`{` or `[`) lying in a container at `parentDepth`; returns
    /// false when it is empty (and then already closed). Deeper than the limit is `too_deep`,
    /// thrown as ``skipContainer`` does: nothing after it is read.
    mutating func enter(parentDepth: Int) throws(DecodeError) -> Bool {
        guard parentDepth + 1 <= maxDepth else {
            throw DecodeError(reason: .tooDeep, detail: "nesting deeper than \(maxDepth) levels at byte \(index)")
        }
        let close = bytes[index] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
        index += 1
        skipWhitespace()
        if peek() == close {
            index += 1
            return false
        }
        return true
    }

    /// After an array element: consumes `,` (returns false: another element follows) or `]`
    /// (returns true: the array is closed); anything else is malformed.
    @inline(__always) mutating func endOfElement(_ context: String) throws(DecodeError) -> Bool {
        skipWhitespace()
        let b = peek()
        if b == UInt8(ascii: ",") {
            index += 1
            skipWhitespace()
            return false
        }
        if b == UInt8(ascii: "]") {
            index += 1
            return true
        }
        throw unexpected(context)
    }

    /// Only whitespace may follow the payload's value.
    mutating func expectEndOfPayload() throws(DecodeError) {
        skipWhitespace()
        guard index == bytes.count else {
            throw malformed("unexpected \(describeByte(bytes, at: index)) after the JSON value")
        }
    }
}

extension PayloadParser {
    /// Opens the payload's top-level object and returns its key tracker; nil when the object is
    /// empty or the payload is not an object (then validated to the end and noted `wrong_type`).
    mutating func openPayloadObject() throws(DecodeError) -> KeyTracker? {
        cursor.skipWhitespace()
        let open = cursor.index
        guard cursor.peek() == UInt8(ascii: "{") else {
            // Valid JSON that is not an object is wrong_type; anything else is malformed.
            let found = try cursor.scanValue(depth: 0)
            try cursor.expectEndOfPayload()
            cursor.note(DecodeError(reason: .wrongType, detail: "the payload must be a JSON object, found \(found.name)"))
            return nil
        }
        guard try cursor.enter(parentDepth: 0) else {
            try cursor.expectEndOfPayload()
            return nil
        }
        return KeyTracker(open: open, depth: 1)
    }

    /// Reads a member's key and `:`, classifies the key and tracks it; a meaningful key met twice
    /// is noted `duplicate_key`.
    @inline(__always)
    mutating func memberKey<K: GatewayKey>(_ tracker: inout KeyTracker, as: K.Type = K.self) throws(DecodeError) -> K {
        guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a string key") }
        let key = try cursor.scanString()
        cursor.skipWhitespace()
        try cursor.consume(UInt8(ascii: ":"), "':' after a key")
        cursor.skipWhitespace()
        let (k, hash): (K, UInt64) = withContent(key) { b in
            let k = K.classify(b)
            return (k, k.bit == 0 ? hashBytes(b) : 0)
        }
        if k.bit == 0 {
            tracker.meet(hash: hash)
        } else if tracker.meet(bit: k.bit) {
            cursor.note(DecodeError(reason: .duplicateKey, detail: "key \"\(k.name)\" at byte \(key.quote) appears twice"))
        }
        return k
    }

    /// After an object's last member: the exact duplicate check when the Bloom filter asked for it.
    mutating func finishObject(_ tracker: KeyTracker, inside: @autoclosure () -> String) throws(DecodeError) {
        guard tracker.recheck else { return }
        if let duplicate = try findDuplicateKey(objectAt: tracker.open, depth: tracker.depth, inside: inside()) {
            cursor.note(duplicate)
        }
    }

    /// A bound reading's value from an already scanned JSON value: a finite number or a boolean,
    /// else nil after noting why (`wrong_type`, `non_finite`). Unbound tags never come here:
    /// gateways publish strings and arrays for tags MeltWatch does not read.
    mutating func boundValue(_ scanned: ScannedValue, _ field: @autoclosure () -> String) -> Value? {
        switch scanned {
        case .number(let t):
            guard let d = cursor.doubleValue(t) else {
                cursor.note(DecodeError(reason: .malformedJSON, detail: "\(field()): unreadable number"))
                return nil
            }
            guard d.isFinite else {
                cursor.note(DecodeError(
                    reason: .nonFinite, detail: "\(field()): \(cursor.text(t.start, t.end)) overflows a double"
                ))
                return nil
            }
            return .number(d)
        case .bool(let b):
            return .bool(b)
        case .nonFinite:
            return nil  // noted when scanned
        case let other:
            cursor.note(DecodeError(
                reason: .wrongType,
                detail: "\(field()): expected a number or boolean for a bound tag, found \(other.name)"
            ))
            return nil
        }
    }

    /// An unbound reading's value may be any JSON value, but a number must still fit a double,
    /// as an unknown role's must in the native batch form: `1e999` is `non_finite` wherever a
    /// reading's value stands, bound or not, so one tag's binding never decides the verdict.
    mutating func checkUnboundValue(_ scanned: ScannedValue, _ field: @autoclosure () -> String) {
        guard case .number(let t) = scanned, let d = cursor.doubleValue(t), !d.isFinite else { return }
        cursor.note(DecodeError(reason: .nonFinite, detail: "\(field()): \(cursor.text(t.start, t.end)) overflows a double"))
    }

    /// Non-negative integer epoch milliseconds from an already scanned value, else nil after noting
    /// `bad_timestamp` (a number of another form) or `wrong_type`.
    mutating func epochMilliseconds(_ scanned: ScannedValue, _ field: @autoclosure () -> String) -> EventTime? {
        switch scanned {
        case .number(let t):
            if let ms = cursor.nonNegativeInteger(t) { return EventTime(milliseconds: ms) }
            cursor.note(DecodeError(
                reason: .badTimestamp,
                detail: "\(field()): expected non-negative integer epoch milliseconds, found \(cursor.text(t.start, t.end))"
            ))
            return nil
        case .nonFinite:
            return nil
        case let other:
            cursor.note(DecodeError(
                reason: .wrongType, detail: "\(field()): expected integer epoch milliseconds, found \(other.name)"
            ))
            return nil
        }
    }

    /// Notes `future_timestamp` when `time` lies further after `now` than the allowed skew.
    @inline(__always)
    mutating func checkFuture(_ time: EventTime, now: EventTime, maxFutureSkew: Int64, _ field: @autoclosure () -> String) {
        let (limit, overflow) = now.milliseconds.addingReportingOverflow(maxFutureSkew)
        guard !overflow, time.milliseconds > limit else { return }
        cursor.note(DecodeError(
            reason: .futureTimestamp,
            detail: "\(field()): \(time.rfc3339) is \(time.milliseconds(since: now)) ms after the receiver's clock "
                + "(\(now.rfc3339)); at most \(maxFutureSkew) ms allowed"
        ))
    }

    /// Notes a required field that is absent.
    mutating func noteMissing(_ field: String, _ context: @autoclosure () -> String) {
        cursor.note(DecodeError(reason: .missingField, detail: "required field \"\(field)\" is missing \(context())"))
    }

    /// A string token's content quoted for a message.
    func quotedToken(_ s: StringToken) -> String { cursor.quoted(s) }
}

/// A string token's content quoted for a message, from the payload alone: for the message
/// closures passed to the parser's own mutating methods, which must not capture the parser.
func quotedString(_ s: StringToken, in payload: UnsafeRawBufferPointer) -> String {
    JSONCursor(bytes: payload, maxDepth: 1).quoted(s)
}

/// A tag name met in one message (a Neuron format's names across `values`, `errors` and `tags`):
/// its content's hash and where its string token starts.
struct NameRef {
    var hash: UInt64
    var quote: Int
}

extension PayloadParser {
    /// The first tag name met twice, as a `duplicate_key` error. Hashes find candidates in
    /// O(n log n) without touching the names; only when two hashes are equal are the names
    /// compared, exactly, as ``findDuplicateKey(objectAt:depth:inside:)`` does.
    func duplicateName(_ names: inout [NameRef]) throws(DecodeError) -> DecodeError? {
        guard names.count > 1 else { return nil }
        names.sort { $0.hash < $1.hash }
        var candidate = false
        for i in names.indices.dropFirst() where names[i].hash == names[i - 1].hash {
            candidate = true
            break
        }
        guard candidate else { return nil }
        var c = JSONCursor(bytes: cursor.bytes, maxDepth: cursor.maxDepth)
        var side: [UInt8] = []
        var keys: [KeyRef] = []
        keys.reserveCapacity(names.count)
        for ref in names {
            c.index = ref.quote
            let t = try c.scanString()
            if t.escaped {
                let start = side.count
                c.unescape(t, into: &side)
                keys.append(KeyRef(start: start, end: side.count, inSide: true, offset: t.quote))
            } else {
                keys.append(KeyRef(start: t.start, end: t.end, inSide: false, offset: t.quote))
            }
        }
        let payload = cursor.bytes
        return side.withUnsafeBytes { sideBytes -> DecodeError? in
            func content(_ k: KeyRef) -> UnsafeRawBufferPointer {
                UnsafeRawBufferPointer(rebasing: (k.inSide ? sideBytes : payload)[k.start..<k.end])
            }
            keys.sort { a, b in
                let order = compareBytes(content(a), content(b))
                return order == 0 ? a.offset < b.offset : order < 0
            }
            for i in keys.indices.dropFirst() where compareBytes(content(keys[i]), content(keys[i - 1])) == 0 {
                return DecodeError(
                    reason: .duplicateKey,
                    detail: "tag name \(quotedForLog(content(keys[i]))) at byte \(keys[i].offset) repeats the one "
                        + "at byte \(keys[i - 1].offset)"
                )
            }
            return nil
        }
    }
}
