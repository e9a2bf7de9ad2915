/// An immutable-after-build hash table from byte strings to dense indices.
///
/// Why not `[String: Int]`: lookups come straight from payload and topic bytes, and building a
/// `String` per lookup would cost an allocation; and MQTT topics and JSON keys compare as bytes
/// (code points), while `String ==` uses canonical equivalence (`"é"` precomposed equals `"e\u{301}"`).
struct ByteKeyTable: Sendable {
    /// All keys, back to back.
    private var keyBytes: [UInt8] = []
    /// `keyStarts[i]..<keyStarts[i + 1]` is key i in `keyBytes`.
    private var keyStarts: [Int] = [0]
    /// Open addressing, linear probing; -1 is empty. Kept at most half full.
    private var slots: [Int32] = Array(repeating: -1, count: 8)

    /// Number of keys.
    var count: Int { keyStarts.count - 1 }

    /// Adds a key and returns its index, or nil when the key is already present.
    mutating func insert(_ key: some Collection<UInt8>) -> Int? {
        let bytes = Array(key)
        let hit = bytes.withUnsafeBytes { index(of: $0) }
        guard hit == nil else { return nil }
        if (count + 1) * 2 > slots.count { grow() }
        let newIndex = count
        keyBytes.append(contentsOf: bytes)
        keyStarts.append(keyBytes.count)
        place(newIndex, hash: bytes.withUnsafeBytes { hashBytes($0) })
        return newIndex
    }

    /// The index of `key`, or nil.
    @inline(__always)
    func index(of key: UnsafeRawBufferPointer) -> Int? {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hashBytes(key)) & mask
        return slots.withUnsafeBufferPointer { slots in
            keyBytes.withUnsafeBytes { stored in
                while true {
                    let candidate = Int(slots[slot])
                    if candidate < 0 { return nil }
                    let start = keyStarts[candidate]
                    let length = keyStarts[candidate + 1] - start
                    if length == key.count && bytesEqual(stored.baseAddress, start, key) { return candidate }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// The longest probe sequence any stored key needs (1 = found in its home slot); for tests
    /// that guard the hash's spread.
    var longestProbe: Int {
        var longest = 0
        for i in 0..<count {
            let key = self.key(at: i)
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: key.withUnsafeBytes { hashBytes($0) }) & mask
            var probes = 1
            while slots[slot] != Int32(i) {
                slot = (slot + 1) & mask
                probes += 1
            }
            longest = max(longest, probes)
        }
        return longest
    }

    /// Key i as bytes (for diagnostics and listings).
    func key(at index: Int) -> [UInt8] { Array(keyBytes[keyStarts[index]..<keyStarts[index + 1]]) }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        for i in 0..<count {
            let hash = keyBytes.withUnsafeBytes { all in
                hashBytes(UnsafeRawBufferPointer(rebasing: all[keyStarts[i]..<keyStarts[i + 1]]))
            }
            place(i, hash: hash)
        }
    }

    private mutating func place(_ index: Int, hash: UInt64) {
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = Int32(index)
    }
}

/// Compares `key` with the stored bytes at `base + start` (the caller checked the lengths),
/// eight bytes at a time: topics are 20–60 bytes and this runs once per message.
@inline(__always)
private func bytesEqual(_ base: UnsafeRawPointer?, _ start: Int, _ key: UnsafeRawBufferPointer) -> Bool {
    guard let base, let keyBase = key.baseAddress else { return key.isEmpty }
    let n = key.count
    var i = 0
    while i + 8 <= n {
        if base.loadUnaligned(fromByteOffset: start &+ i, as: UInt64.self)
            != keyBase.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i &+= 8
    }
    while i < n {
        if base.load(fromByteOffset: start &+ i, as: UInt8.self) != keyBase.load(fromByteOffset: i, as: UInt8.self) {
            return false
        }
        i &+= 1
    }
    return true
}

/// A fast 64-bit hash of short byte strings, eight bytes per multiply (byte-wise FNV-1a cost a
/// dependent multiply per byte, ~10 % of a message's decode time for a 30-byte topic).
///
/// The SplitMix64 finalizer at the end matters: table slots use the *low* bits, and a multiply
/// alone only carries entropy upwards, so `role_1`…`role_19` would all share a few slots.
/// Not keyed: fine here, because attackers only choose lookup keys, and lookups cannot lengthen
/// the probe chains built from configured keys (the table stays at most half full). The duplicate-key
/// Bloom filters fall back to an exact O(n log n) check, so collisions cost time, never correctness.
@inline(__always)
func hashBytes(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    let n = bytes.count
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
    guard let base = bytes.baseAddress else { return h }
    var i = 0
    while i + 8 <= n {
        h = (h ^ base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
        i += 8
    }
    if i < n {
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 32
    }
    h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
    return h ^ (h >> 31)
}
