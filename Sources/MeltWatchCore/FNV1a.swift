/// FNV-1a, 64 bit: a hash that is the same on every run, build and machine (unlike `Hasher`), for
/// names that must map to the same place every time — cursor file names, shard assignment, the
/// simulator's placement of units in their cycles.
public enum FNV1a {
    /// The hash of `text`'s UTF-8 bytes.
    public static func hash(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h
    }
}
