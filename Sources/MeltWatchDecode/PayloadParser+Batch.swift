import MeltWatchCore

/// The batch form's `values` object, and the exact duplicate-key check both objects fall back to.
extension PayloadParser {
    /// Reads `values`, appending a reading per known role (time, quality and sequence are filled
    /// in by ``parse(route:now:maxFutureSkew:into:)`` once the whole object is read).
    mutating func parseValues(_ roles: EquipmentRoles, into out: inout [Reading]) throws(DecodeError) {
        let open = cursor.index
        guard cursor.peek() == UInt8(ascii: "{") else {
            let found = try cursor.scanValue(depth: 1)
            if case .nonFinite = found { return }
            noteWrongType("values", open, "an object of role: value", found)
            return
        }
        cursor.index += 1
        cursor.skipWhitespace()
        if cursor.peek() == UInt8(ascii: "}") {
            cursor.index += 1
            cursor.note(DecodeError(reason: .emptyBatch, detail: "field \"values\" at byte \(open) is an empty object"))
            return
        }
        // Known roles are tracked exactly by role index; unknown ones through a Bloom filter as at top level.
        var seenRoles: UInt64 = 0
        var seenManyRoles: [UInt64] = roles.count > 64 ? Array(repeating: 0, count: (roles.count + 63) / 64) : []
        var bloom: UInt64 = 0
        var recheck = false
        // Captured by the message closure below instead of `self` (which is being mutated meanwhile).
        let payload = cursor.bytes
        while true {
            guard cursor.peek() == UInt8(ascii: "\"") else { throw cursor.unexpected("a role name") }
            let key = try cursor.scanString()
            cursor.skipWhitespace()
            try cursor.consume(UInt8(ascii: ":"), "':' after a role name")
            cursor.skipWhitespace()
            let (known, hash) = withContent(key) { k in
                let hit = roles.lookup(k)
                return (hit, hit == nil ? hashBytes(k) : 0)
            }
            let value = try readingValue(depth: 2) {
                "role \(JSONCursor(bytes: payload, maxDepth: 1).quoted(key)) at byte \(key.quote) in \"values\""
            }
            if let known {
                let bit: UInt64 = 1 << UInt64(known.index & 63)
                let duplicate: Bool
                if seenManyRoles.isEmpty {
                    duplicate = seenRoles & bit != 0
                    seenRoles |= bit
                } else {
                    duplicate = seenManyRoles[known.index >> 6] & bit != 0
                    seenManyRoles[known.index >> 6] |= bit
                }
                if duplicate {
                    let name = cursor.quoted(key)
                    cursor.note(DecodeError(
                        reason: .duplicateKey, detail: "role \(name) at byte \(key.quote) appears twice in \"values\""
                    ))
                }
                if let value {
                    // Time, quality and sequence are filled in once the whole message is read.
                    out.append(Reading(signal: known.signal, value: value, time: EventTime(milliseconds: 0)))
                }
            } else {
                unknownRoles += 1
                let bit: UInt64 = 1 << (hash & 63)
                if bloom & bit != 0 { recheck = true }
                bloom |= bit
            }
            if try cursor.endOfMember("',' or '}' in \"values\"") { break }
        }
        if recheck, let duplicate = try findDuplicateKey(objectAt: open, depth: 2, inside: "\"values\"") {
            cursor.note(duplicate)
        }
    }

    /// The rare path: re-reads an already validated object and compares all its keys exactly.
    ///
    /// Keys are referenced in place (escaped ones are unescaped into one side buffer) and sorted,
    /// so a 64 KiB payload of thousands of keys costs O(n log n) and a handful of allocations
    /// (about 1 ms for 6,000 keys here; sorting by hash first measured slower).
    func findDuplicateKey(objectAt offset: Int, depth: Int, inside: String) throws(DecodeError) -> DecodeError? {
        var c = JSONCursor(bytes: cursor.bytes, maxDepth: cursor.maxDepth)
        c.index = offset + 1
        var side: [UInt8] = []
        var keys: [KeyRef] = []
        c.skipWhitespace()
        while c.peek() == UInt8(ascii: "\"") {
            let t = try c.scanString()
            if t.escaped {
                let start = side.count
                c.unescape(t, into: &side)
                keys.append(KeyRef(start: start, end: side.count, inSide: true, offset: t.quote))
            } else {
                keys.append(KeyRef(start: t.start, end: t.end, inSide: false, offset: t.quote))
            }
            c.skipWhitespace()
            try c.consume(UInt8(ascii: ":"), "':'")
            c.skipWhitespace()
            _ = try c.scanValue(depth: depth)
            c.skipWhitespace()
            guard c.peek() == UInt8(ascii: ",") else { break }
            c.index += 1
            c.skipWhitespace()
        }
        let payload = c.bytes
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
                    detail: "key \(quotedForLog(content(keys[i]))) at byte \(keys[i].offset) repeats the key "
                        + "at byte \(keys[i - 1].offset) in \(inside)"
                )
            }
            return nil
        }
    }
}

/// Where a key's unescaped bytes are: in the payload, or in the side buffer of unescaped keys.
struct KeyRef {
    var start: Int
    var end: Int
    var inSide: Bool
    /// The key's opening quote in the payload, for messages and for a stable order.
    var offset: Int
}

/// Three-way byte comparison (negative, 0, positive), like `memcmp` followed by the lengths.
func compareBytes(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Int {
    let n = min(x.count, y.count)
    var i = 0
    while i < n {
        let a = x[i]
        let b = y[i]
        if a != b { return a < b ? -1 : 1 }
        i += 1
    }
    return x.count - y.count
}
