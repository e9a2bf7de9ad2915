/// What one interlock check came to, recorded for every trip — the good ones too: the audit
/// report's latency statistics need the ok trips as much as the failed ones.
public struct InterlockOutcome: Sendable, Equatable {
    /// The verdict.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case ok, late, failed
    }

    public var plant: String
    public var equipment: String
    /// The rule whose raise tripped the check (e.g. `flow-difference`).
    public var trigger: String
    public var kind: Kind
    /// Event time of the trip.
    public var trippedAt: EventTime
    /// Trip to the last expected feedback; nil when the check failed.
    public var latencyMilliseconds: Int64?
    /// For `failed`: the missing or unhealthy feedback.
    public var cause: String?

    /// Creates a record.
    public init(plant: String, equipment: String, trigger: String, kind: Kind, trippedAt: EventTime,
                latencyMilliseconds: Int64?, cause: String?) {
        self.plant = plant
        self.equipment = equipment
        self.trigger = trigger
        self.kind = kind
        self.trippedAt = trippedAt
        self.latencyMilliseconds = latencyMilliseconds
        self.cause = cause
    }
}
