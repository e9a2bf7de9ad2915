import MeltWatchCore
import MeltWatchHazards

/// The audit report of one plant and period (contract section 6), computed from an ``AuditInput``.
///
/// A pure value: building it reads no clock or file, and ``html()``, ``csv()`` and ``json()`` render
/// the same rows (``tables``) three ways. Times are shown in China Standard Time (UTC+8).
public struct AuditReport: Sendable {
    /// How much reading history the evidence charts show around an alarm.
    public struct Options: Sendable, Equatable {
        /// Shown before the raise and after the clear of process, device and system alarms.
        public var evidencePaddingMilliseconds: Int64
        /// Shown around interlock alarms, whose feedbacks change within seconds of the trip.
        public var interlockEvidencePaddingMilliseconds: Int64

        /// Five minutes around ordinary alarms, thirty seconds around interlock alarms.
        public init(evidencePaddingMilliseconds: Int64 = 300_000, interlockEvidencePaddingMilliseconds: Int64 = 30_000) {
            self.evidencePaddingMilliseconds = evidencePaddingMilliseconds
            self.interlockEvidencePaddingMilliseconds = interlockEvidencePaddingMilliseconds
        }
    }

    public var plantID: String
    public var plantName: String
    public var from: EventTime
    public var to: EventTime
    public var generatedAt: EventTime
    public var configHash: String
    public var options: Options
    /// Every alarm of the plant with its timeline, ordered by raise time (first seen), then alarm id.
    public var alarms: [AlarmRecord]
    /// One evidence row per alarm, in the order of ``alarms`` (the alarm evidence section).
    public var ledger: [HazardLedgerRow]
    /// The hazard records found in the period, in found order: the ledger table.
    public var hazards: [Hazard]
    /// Per (equipment, trigger), sorted.
    public var interlocks: [InterlockStatistics]
    /// Per signal, sorted.
    public var availability: [SensorAvailability]
    /// Alarm-load figures.
    public var load: AlarmLoad
    /// The evidence readings per signal, sorted by time, for the charts.
    public var evidence: [SignalKey: EvidenceSeries]
    /// Every change of an audited setpoint, in event order.
    public var setpointChanges: [SetpointChange]

    /// Computes the report; items of other plants are left out.
    public init(_ input: AuditInput, options: Options = Options()) {
        plantID = input.plantID
        plantName = input.plantName
        from = input.from
        to = input.to
        generatedAt = input.generatedAt
        configHash = input.configHash
        self.options = options
        let events = input.events.filter { $0.plant == input.plantID }
        let outcomes = input.interlockOutcomes.filter { $0.plant == input.plantID }
        var alarms = AlarmRecord.group(events)
        AlarmRecord.attachTrips(&alarms, outcomes: outcomes)
        self.alarms = alarms
        ledger = alarms.enumerated().map { HazardLedgerRow(index: $0 + 1, plantName: input.plantName, alarm: $1) }
        hazards = input.hazards.filter { $0.plant == input.plantID }.sorted { ($0.foundAt, $0.id) < ($1.foundAt, $1.id) }
        interlocks = InterlockStatistics.compute(outcomes)
        setpointChanges = input.setpointChanges.filter { $0.plant == input.plantID }
        availability = SensorAvailability.compute(input.availability)
        load = AlarmLoad.compute(events, from: input.from, to: input.to)
        var evidence: [SignalKey: EvidenceSeries] = [:]
        for var series in input.samples {
            if var existing = evidence[series.key] {
                existing.points += series.points
                series = existing
            }
            evidence[series.key] = series
        }
        for key in evidence.keys {
            let points = evidence[key]!.points
            if !zip(points, points.dropFirst()).allSatisfy({ $0.time <= $1.time }) {
                evidence[key]!.points = points.sorted { $0.time < $1.time }
            }
        }
        self.evidence = evidence
    }
}
