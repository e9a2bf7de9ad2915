import MeltWatchCore

/// The top-level keys the contract gives a meaning to.
enum Field: UInt8 {
    case ts = 1, v = 2, q = 4, seq = 8, values = 16, other = 0

    /// Classifies a key's (unescaped) bytes.
    @inline(__always) static func classify(_ k: UnsafeRawBufferPointer) -> Field {
        switch k.count {
        case 1:
            return k[0] == UInt8(ascii: "v") ? .v : k[0] == UInt8(ascii: "q") ? .q : .other
        case 2:
            return k[0] == UInt8(ascii: "t") && k[1] == UInt8(ascii: "s") ? .ts : .other
        case 3:
            return k[0] == UInt8(ascii: "s") && k[1] == UInt8(ascii: "e") && k[2] == UInt8(ascii: "q") ? .seq : .other
        case 6:
            return equalsLiteral(k, "values") ? .values : .other
        default:
            return .other
        }
    }

    /// The key as written in the contract, for messages.
    var name: String {
        switch self {
        case .ts: "ts"
        case .v: "v"
        case .q: "q"
        case .seq: "seq"
        case .values: "values"
        case .other: "?"
        }
    }
}

/// Byte equality with a literal, without the generic `elementsEqual` (which showed up in profiles).
@inline(__always)
func equalsLiteral(_ k: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
    let n = word.utf8CodeUnitCount
    guard k.count == n else { return false }
    for i in 0..<n where k[i] != word.utf8Start[i] { return false }
    return true
}

/// A route as the parser takes it: the equipment's roles unretained, because whoever hands the
/// route over (the ``TopicTable`` behind the decoder, or the caller of
/// ``PayloadDecoder/decode(route:payload:now:into:)``) keeps them alive for the whole parse. Trivial
/// to copy, so a message costs no retain and release of its roles (2 % of replay's profile, the
/// first touch of a cold object).
enum ParseRoute {
    case signal(SignalID)
    case equipment(Unmanaged<EquipmentRoles>)
}

/// One message's parse: a single left-to-right pass over the bytes.
struct PayloadParser {
    var cursor: JSONCursor
    var time: EventTime?
    var timeOffset = 0
    var value: Value?
    var quality: Quality = .good
    var sequence: Int64?
    /// `Field` bits of the known keys met so far (duplicates of known keys are caught here).
    var seen: UInt8 = 0
    var unknownRoles = 0
    /// Unescaped key or string content; only used (and only allocated) when a string has escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        cursor = JSONCursor(bytes: bytes, maxDepth: maxDepth)
    }

    /// Parses the whole payload; appends readings to `out` (the caller undoes them if this throws).
    mutating func parse(
        route: ParseRoute, now: EventTime, maxFutureSkew: Int64, into out: inout [Reading]
    ) throws(DecodeError) -> DecodeOutcome {
        let start = out.count
        try parseTopLevel(route: route, into: &out)
        if let error = cursor.pending { throw error }

        guard let time else { throw missing(.ts) }
        switch route {
        case .signal: if value == nil { throw missing(.v) }
        case .equipment: if seen & Field.values.rawValue == 0 { throw missing(.values) }
        }
        let (limit, overflow) = now.milliseconds.addingReportingOverflow(maxFutureSkew)
        if !overflow && time.milliseconds > limit {
            throw DecodeError(
                reason: .futureTimestamp,
                detail: "field \"ts\" at byte \(timeOffset): \(time.rfc3339) is \(time.milliseconds(since: now)) ms "
                    + "after the receiver's clock (\(now.rfc3339)); at most \(maxFutureSkew) ms allowed"
            )
        }
        switch route {
        case .signal(let signal):
            guard let value else { throw missing(.v) }
            out.append(Reading(signal: signal, value: value, quality: quality, time: time, sequence: sequence))
            return DecodeOutcome(readings: 1, unknownRoles: 0)
        case .equipment:
            // Readings were appended as `values` was read; the message-wide fields are known only now.
            for i in start..<out.count {
                out[i].time = time
                out[i].quality = quality
                out[i].sequence = sequence
            }
            return DecodeOutcome(readings: out.count - start, unknownRoles: unknownRoles)
        }
    }

    private func missing(_ field: Field) -> DecodeError {
        let form = field == .ts ? "" : field == .v ? " (this topic carries a single signal)" : " (this topic carries a batch)"
        return DecodeError(reason: .missingField, detail: "required field \"\(field.name)\" is missing\(form)")
    }

    private mutating func parseTopLevel(route: ParseRoute, into out: inout [Reading]) throws(DecodeError) {
        cursor.skipWhitespace()
        let objectStart = cursor.index
        guard cursor.peek() == UInt8(ascii: "{") else {
            // Distinguish valid-but-not-an-object (wrong_type) from not JSON at all.
            let found = try cursor.scanValue(depth: 0)
            try expectEnd()
            cursor.note(DecodeError(reason: .wrongType, detail: "the payload must be a JSON object, found \(found.name)"))
            return
        }
        cursor.index += 1
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "}") {
            cursor.index += 1
            try expectEnd()
            return
        }
        // Keys without a contract meaning are checked for duplicates through a 64-bit Bloom filter;
        // only when two of them share a bit is the object re-read and compared exactly.
        var bloom: UInt64 = 0
        var recheck = false
        while true {
            guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a string key") }
            let key = try cursor.scanString()
            cursor.skipWhitespace()
            try cursor.consume(UInt8(ascii: ":"), "':' after a key")
            cursor.skipWhitespace()
            let (field, hash) = withContent(key) { k in
                let f = Field.classify(k)
                return (f, f == .other ? hashBytes(k) : 0)
            }
            if field == .other {
                let bit: UInt64 = 1 << (hash & 63)
                if bloom & bit != 0 { recheck = true }
                bloom |= bit
                _ = try cursor.scanValue(depth: 1)
            } else {
                if seen & field.rawValue != 0 {
                    cursor.note(DecodeError(
                        reason: .duplicateKey, detail: "key \"\(field.name)\" at byte \(key.quote) appears twice"
                    ))
                }
                seen |= field.rawValue
                try parseField(field, route: route, into: &out)
            }
            if try cursor.endOfMember("',' or '}' after a member") { break }
        }
        try expectEnd()
        if recheck, let duplicate = try findDuplicateKey(objectAt: objectStart, depth: 1, inside: "the payload") {
            cursor.note(duplicate)
        }
    }

    private mutating func expectEnd() throws(DecodeError) {
        cursor.skipWhitespace()
        guard cursor.index == cursor.bytes.count else {
            throw cursor.malformed("unexpected \(describeByte(cursor.bytes, at: cursor.index)) after the JSON value")
        }
    }

    private mutating func parseField(_ field: Field, route: ParseRoute, into out: inout [Reading]) throws(DecodeError) {
        let at = cursor.index
        switch field {
        case .ts:
            timeOffset = at
            try parseTime()
        case .v:
            guard case .signal = route else { _ = try cursor.scanValue(depth: 1); return }
            value = try readingValue(depth: 1) { "field \"v\" at byte \(at)" }
        case .values:
            guard case .equipment(let roles) = route else { _ = try cursor.scanValue(depth: 1); return }
            // Borrowed, not retained: the route's owner keeps the roles alive (see `ParseRoute`).
            // (Its `rethrows` is untyped, hence the error carried out by hand.)
            var failure: DecodeError?
            roles._withUnsafeGuaranteedRef { r in
                do throws(DecodeError) { try parseValues(r, into: &out) } catch { failure = error }
            }
            if let failure { throw failure }
        case .q:
            switch try cursor.scanValue(depth: 1) {
            case .string(let s):
                let q: Quality? = withContent(s) { k in
                    equalsLiteral(k, "good") ? .good
                        : equalsLiteral(k, "bad") ? .bad
                        : equalsLiteral(k, "uncertain") ? .uncertain : nil
                }
                if let q {
                    quality = q
                } else {
                    let shown = cursor.quoted(s)
                    cursor.note(DecodeError(
                        reason: .badQuality,
                        detail: "field \"q\" at byte \(at): expected \"good\", \"uncertain\" or \"bad\", found \(shown)"
                    ))
                }
            case .nonFinite: break
            case let other: noteWrongType("q", at, "a string", other)
            }
        case .seq:
            switch try cursor.scanValue(depth: 1) {
            case .number(let t):
                if let s = cursor.nonNegativeInteger(t) {
                    sequence = s
                } else {
                    cursor.note(DecodeError(
                        reason: .badSequence,
                        detail: "field \"seq\" at byte \(at): expected a non-negative 64-bit integer, "
                            + "found \(cursor.text(t.start, t.end))"
                    ))
                }
            case .nonFinite: break
            case let other: noteWrongType("seq", at, "an integer", other)
            }
        case .other:
            _ = try cursor.scanValue(depth: 1)
        }
    }

    private mutating func parseTime() throws(DecodeError) {
        let at = cursor.index
        switch try cursor.scanValue(depth: 1) {
        case .number(let t):
            if let ms = cursor.nonNegativeInteger(t) {
                time = EventTime(milliseconds: ms)
            } else {
                cursor.note(DecodeError(
                    reason: .badTimestamp,
                    detail: "field \"ts\" at byte \(at): expected non-negative integer epoch milliseconds, "
                        + "found \(cursor.text(t.start, t.end))"
                ))
            }
        case .string(let s):
            let parsed = withContent(s) { EventTime.parseRFC3339($0) }
            // Before 1970 is as implausible for a plant gateway as a negative integer, and is rejected alike.
            if let parsed, parsed.milliseconds >= 0 {
                time = parsed
            } else {
                let shown = cursor.quoted(s)
                cursor.note(DecodeError(
                    reason: .badTimestamp, detail: "field \"ts\" at byte \(at): not an RFC 3339 date-time: \(shown)"
                ))
            }
        case .nonFinite: break
        case let other: noteWrongType("ts", at, "integer epoch milliseconds or an RFC 3339 string", other)
        }
    }

    /// Reads a reading's value: a finite number or a boolean. Returns nil after noting why not.
    mutating func readingValue(depth: Int, _ field: () -> String) throws(DecodeError) -> Value? {
        switch try cursor.scanValue(depth: depth) {
        case .number(let t):
            guard let d = cursor.doubleValue(t) else {
                // Unreachable for validated number text; kept as a reject, never a crash.
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
            return nil
        case let other:
            cursor.note(DecodeError(
                reason: .wrongType, detail: "\(field()): expected a number or boolean, found \(other.name)"
            ))
            return nil
        }
    }

    mutating func noteWrongType(_ field: String, _ at: Int, _ expected: String, _ found: ScannedValue) {
        cursor.note(DecodeError(
            reason: .wrongType, detail: "field \"\(field)\" at byte \(at): expected \(expected), found \(found.name)"
        ))
    }

    /// Runs `body` on a string's content: the payload bytes themselves, or the unescaped copy.
    @inline(__always)
    mutating func withContent<R>(_ s: StringToken, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard s.escaped else { return body(cursor.slice(s.start, s.end)) }
        scratch.removeAll(keepingCapacity: true)
        cursor.unescape(s, into: &scratch)
        return scratch.withUnsafeBytes(body)
    }
}
