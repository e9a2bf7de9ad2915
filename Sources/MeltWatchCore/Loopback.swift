/// Whether a host name or address is this machine's loopback: `localhost`, `::1`, or an IPv4
/// address in 127.0.0.0/8. Used where only a local user may act without a token (the duty
/// listener's bind address, and the `Host` a request names).
public enum Loopback {
    /// True for `localhost`, `::1` and 127.x.y.z (case-insensitive, no port, no brackets).
    public static func isLoopback(host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h == "::1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
