import MeltWatchCore
import MeltWatchHazards

/// Everything the audit report (contract section 6) is computed from, for one plant and period.
///
/// The journal replay fills it; the report never reads files or clocks, so the same input always
/// gives the same bytes. Events and interlock outcomes of other plants (by `plant` id) are ignored,
/// so a caller may pass those of a whole site; samples and availability carry no plant id and are
/// taken as this plant's.
public struct AuditInput: Sendable {
    /// The plant's configured id (`[a-z0-9-]+`), matched against ``MeltWatchCore/AlarmEvent/plant``.
    public var plantID: String
    /// The plant's configured name: free text in any script, shown in the 企业 column (escaped).
    public var plantName: String
    /// Start of the period, inclusive.
    public var from: EventTime
    /// End of the period, exclusive. Alarm-load windows cover `[from, to)`.
    public var to: EventTime
    /// When the report was generated (a parameter, not a clock read, so that output is reproducible).
    public var generatedAt: EventTime
    /// The configuration's hash (`sha256:…`) the events were evaluated with.
    public var configHash: String
    /// Every alarm event of the period in emission order: raised, updated, cleared, and the duty
    /// room's acknowledged / shelved / unshelved / escalated events with their `operator` and `note`.
    /// Heartbeats are ignored. Events are grouped into alarms by ``MeltWatchCore/AlarmEvent/alarmID``.
    public var events: [AlarmEvent]
    /// Every interlock check of the period, ok ones included (the latency statistics need them).
    public var interlockOutcomes: [InterlockOutcome]
    /// Evidence readings per (equipment, signal), at least those around each alarm; the charts show
    /// the alarm's `signals` from a few minutes before its raise to after its clear.
    public var samples: [EvidenceSeries]
    /// Per (equipment, signal): how long it was observed and how long of that it was healthy.
    public var availability: [SignalAvailability]
    /// Every change of an audited PLC setpoint in the period, in event order (domain.md "Setpoint audit").
    public var setpointChanges: [SetpointChange] = []
    /// The hazard records found in the period (domain.md "Hazards"), as the journal last shows them:
    /// the report's ledger. Alarms are the evidence, not the hazards.
    public var hazards: [Hazard] = []

    /// Creates an input; see each property for its meaning.
    public init(
        plantID: String, plantName: String, from: EventTime, to: EventTime, generatedAt: EventTime,
        configHash: String, events: [AlarmEvent], interlockOutcomes: [InterlockOutcome] = [],
        samples: [EvidenceSeries] = [], availability: [SignalAvailability] = [], setpointChanges: [SetpointChange] = []
    ) {
        self.setpointChanges = setpointChanges
        self.plantID = plantID
        self.plantName = plantName
        self.from = from
        self.to = to
        self.generatedAt = generatedAt
        self.configHash = configHash
        self.events = events
        self.interlockOutcomes = interlockOutcomes
        self.samples = samples
        self.availability = availability
    }
}

/// One signal of one equipment: the key of evidence series and availability figures.
public struct SignalKey: Hashable, Comparable, Sendable {
    /// The equipment id, unique within the plant.
    public var equipment: String
    /// The role name (`cooling_flow`, `co`, …).
    public var signal: String

    /// Creates a key.
    public init(equipment: String, signal: String) {
        self.equipment = equipment
        self.signal = signal
    }

    public static func < (a: SignalKey, b: SignalKey) -> Bool {
        (a.equipment, a.signal) < (b.equipment, b.signal)
    }
}

/// One reading of an evidence series.
public struct EvidencePoint: Sendable, Equatable {
    /// The reading's event time.
    public var time: EventTime
    /// The value; booleans as 0 and 1.
    public var value: Double

    /// Creates a point.
    public init(_ time: EventTime, _ value: Double) {
        self.time = time
        self.value = value
    }
}

/// The readings of one signal, for the evidence charts.
public struct EvidenceSeries: Sendable, Equatable {
    /// Which signal.
    public var key: SignalKey
    /// The signal's unit (`m3/h`, `ppm`, `kPa`); nil for a boolean signal, whose values are 0 and 1.
    public var unit: String?
    /// Readings in event-time order (sorted by the report if they are not). Unhealthy readings
    /// should be left out: a gap in the chart is the honest picture of a stale signal.
    public var points: [EvidencePoint]

    /// Creates a series.
    public init(equipment: String, signal: String, unit: String?, points: [EvidencePoint]) {
        self.key = SignalKey(equipment: equipment, signal: signal)
        self.unit = unit
        self.points = points
    }
}

/// How long one signal was observed in the period, and how much of that it was healthy
/// (not stale, frozen or bad quality).
public struct SignalAvailability: Sendable, Equatable {
    /// Which signal.
    public var key: SignalKey
    /// Milliseconds the signal was healthy.
    public var healthyMilliseconds: Int64
    /// Milliseconds the signal was observed (normally the period; less when configured mid-period).
    public var observedMilliseconds: Int64

    /// Creates a figure.
    public init(equipment: String, signal: String, healthyMilliseconds: Int64, observedMilliseconds: Int64) {
        self.key = SignalKey(equipment: equipment, signal: signal)
        self.healthyMilliseconds = healthyMilliseconds
        self.observedMilliseconds = observedMilliseconds
    }
}
