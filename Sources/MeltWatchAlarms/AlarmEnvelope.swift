import MeltWatchCore

/// An alarm event with its wire body, encoded once at emission so every channel and every retry
/// carries the same bytes (and the same `emitted_at`).
public struct AlarmEnvelope: Sendable {
    public var event: AlarmEvent
    /// The contract JSON (section 4).
    public var body: String

    /// Encodes `event` as emitted at `emittedAt`.
    public init(event: AlarmEvent, emittedAt: EventTime) {
        self.event = event
        self.body = event.jsonBody(emittedAt: emittedAt)
    }
}
