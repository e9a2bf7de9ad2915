/// Why a signal was learned dead before its `stale_after_s` ran out.
public enum LossCause: UInt8, Sendable, BitwiseCopyable, Codable {
    /// Sparkplug NDEATH (with the matching `bdSeq`): the edge node is gone.
    case nodeDeath = 1
    /// Sparkplug DDEATH: the device behind the edge node is gone.
    case deviceDeath = 2

    /// The alarm's `cause`.
    public var name: String {
        switch self {
        case .nodeDeath: "sparkplug-ndeath"
        case .deviceDeath: "sparkplug-ddeath"
        }
    }
}

/// A signal whose gateway declared it dead: the engine marks it `stale` at once with this cause.
public struct SignalLoss: Sendable, Equatable, BitwiseCopyable {
    public var signal: SignalID
    /// When the death was received (the daemon clock: a death certificate's own timestamp is often
    /// the moment the MQTT will was registered, long before).
    public var time: EventTime
    public var cause: LossCause

    public init(signal: SignalID, time: EventTime, cause: LossCause) {
        self.signal = signal
        self.time = time
        self.cause = cause
    }
}
