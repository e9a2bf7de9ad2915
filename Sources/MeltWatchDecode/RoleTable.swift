import MeltWatchCore

/// A collision-free (perfect) hash table over one equipment's role names, in one allocation.
///
/// Why not the ``ByteKeyTable`` the topics use: a batch message looks up every role it carries, and
/// with a thousand equipment each message finds its equipment's tables cold in cache. The general
/// table chases four arrays (slots, key starts, key bytes, signals) — dependent cache misses that
/// made the role lookup the largest single cost of batch decoding. Here a lookup reads the key's
/// first and last eight bytes, takes one multiply to a slot byte, and checks the one candidate
/// against its stored words: everything lies in one small array.
///
/// Built once per equipment: a seed is searched that sends every role to its own slot. When none
/// is found (very many roles, or keys this hash cannot tell apart) ``init(_:)`` returns nil and
/// the caller keeps the general table.
struct RoleTable: Sendable {
    /// Slot bytes (role index + 1, 0 empty) packed eight per word, then four words per role:
    /// first word, last word, `length | signal << 32`, byte offset of the key's bytes; then the
    /// keys' bytes back to back (compared for keys longer than 16 bytes).
    private let words: [UInt64]
    private let seed: UInt64
    private let shift: UInt64
    /// Index of the first role's entry in `words`.
    private let entryBase: Int

    /// Roles with more than this many are left to the general table (slot bytes hold index + 1).
    static let maxRoles = 255

    /// Builds the table for `keys` (role i is `keys[i]`, its signal `signals[i]`); nil when no
    /// collision-free seed is found.
    init?(keys: [[UInt8]], signals: [SignalID]) {
        let count = keys.count
        guard count > 0, count <= Self.maxRoles, keys.allSatisfy({ $0.count <= Int(UInt32.max) }) else { return nil }
        let mixed = keys.map { k in k.withUnsafeBytes { Self.mix($0) } }
        // Table sizes from 2 × count (at least 16) up to 16 × count slots, a bounded number of seeds
        // each; deterministic (SplitMix64 from a fixed state), so a config always builds the same table.
        var bits: UInt64 = 4
        while (1 << bits) < 2 * count { bits += 1 }
        var found: (seed: UInt64, bits: UInt64)?
        var state: UInt64 = 0x6D65_6C74_7761_7463  // "meltwatc"
        search: for b in bits...(bits + 3) {
            let size = 1 << b
            var used = [Bool](repeating: false, count: size)
            for _ in 0..<256 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                let candidate = (z ^ (z >> 31)) | 1
                for i in used.indices { used[i] = false }
                var ok = true
                for x in mixed {
                    let slot = Int((x &* candidate) >> (64 - b))
                    if used[slot] { ok = false; break }
                    used[slot] = true
                }
                if ok {
                    found = (candidate, b)
                    break search
                }
            }
        }
        guard let found else { return nil }

        let size = 1 << found.bits
        let slotWords = (size + 7) / 8
        let bytesStart = (slotWords + 4 * count) * 8
        var words = [UInt64](repeating: 0, count: slotWords + 4 * count + (keys.reduce(0) { $0 + $1.count } + 7) / 8)
        var keyOffset = bytesStart
        for (i, key) in keys.enumerated() {
            let (w0, w1) = key.withUnsafeBytes { Self.ends($0) }
            let e = slotWords + 4 * i
            words[e] = w0
            words[e + 1] = w1
            words[e + 2] = UInt64(key.count) | UInt64(UInt32(bitPattern: signals[i].rawValue)) << 32
            words[e + 3] = UInt64(keyOffset)
            let slot = Int((mixed[i] &* found.seed) >> (64 - found.bits))
            words.withUnsafeMutableBytes { w in
                w[slot] = UInt8(i + 1)  // slot bytes are read back as bytes, whatever the byte order
                for (j, byte) in key.enumerated() { w[keyOffset + j] = byte }
            }
            keyOffset += key.count
        }
        self.words = words
        seed = found.seed
        shift = 64 - found.bits
        entryBase = slotWords
    }

    /// Role index and signal for a key's bytes, or nil.
    @inline(__always)
    func lookup(_ key: UnsafeRawBufferPointer) -> (index: Int, signal: SignalID)? {
        let (w0, w1) = Self.ends(key)
        let n = key.count
        let slot = Int(truncatingIfNeeded: (Self.mix(w0, w1, n) &* seed) >> shift)
        return words.withUnsafeBufferPointer { w -> (index: Int, signal: SignalID)? in
            let raw = UnsafeRawPointer(w.baseAddress!)
            let s = Int(raw.load(fromByteOffset: slot, as: UInt8.self))
            guard s != 0 else { return nil }
            let e = entryBase &+ 4 &* (s &- 1)
            let meta = w[e + 2]
            guard w[e] == w0, w[e + 1] == w1, Int(truncatingIfNeeded: meta & 0xFFFF_FFFF) == n else { return nil }
            // The two words cover keys of up to 16 bytes; longer ones compare their middle too.
            if n > 16, !middleEqual(key, raw + Int(truncatingIfNeeded: w[e + 3])) { return nil }
            return (s &- 1, SignalID(Int32(truncatingIfNeeded: meta >> 32)))
        }
    }

    /// Bytes 8..<n-8 of `key` against the same bytes of the stored key at `stored`.
    @inline(__always)
    private func middleEqual(_ key: UnsafeRawBufferPointer, _ stored: UnsafeRawPointer) -> Bool {
        let base = key.baseAddress!
        let end = key.count - 8
        var i = 8
        while i + 8 <= end {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) != stored.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < end {
            if base.load(fromByteOffset: i, as: UInt8.self) != stored.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// The key's first and last eight bytes (overlapping for 8…15 bytes); shorter keys are packed
    /// into the first word and the second is 0. With the length, these identify keys of ≤ 16 bytes.
    @inline(__always)
    static func ends(_ key: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        let n = key.count
        guard let base = key.baseAddress else { return (0, 0) }
        if n >= 8 {
            return (base.loadUnaligned(as: UInt64.self), base.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }
        var w: UInt64 = 0
        var i = 0
        while i < n {
            w |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << (8 * UInt64(i))
            i += 1
        }
        return (w, 0)
    }

    /// Folds the two words and the length into one; the seed's multiply and shift then pick the slot.
    @inline(__always)
    static func mix(_ w0: UInt64, _ w1: UInt64, _ n: Int) -> UInt64 {
        let x = w0 ^ (w1 << 29 | w1 >> 35) ^ UInt64(truncatingIfNeeded: n)
        return x ^ (x >> 32)
    }

    static func mix(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let (w0, w1) = ends(key)
        return mix(w0, w1, key.count)
    }
}
