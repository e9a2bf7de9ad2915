import MeltWatchAlarms
import MeltWatchCore

/// Alarms about the daemon itself (contract §4 class `system`): the journal failed or is damaged.
/// They carry plant `meltwatch` and equipment `daemon`, so the duty room sees them beside the
/// plants' alarms; their basis is 令10 第十四条 — a monitoring system that cannot record is failing.
enum SystemAlarm {
    static func envelope(rule: String, configHash: String, message: String, cause: String?) -> AlarmEnvelope {
        let now = EventTime(milliseconds: WallClock.milliseconds())
        let event = AlarmEvent(
            kind: .raised, state: .activeUnacked, alarmClass: .system, rule: rule, priority: .emergency,
            plant: "meltwatch", equipment: "daemon", activation: 1, ordinal: 1, signals: [],
            value: nil, limit: nil, unit: nil, latencyMilliseconds: nil, cause: cause, basis: "令10 第十四条",
            message: message, eventTime: now, configHash: configHash
        )
        return AlarmEnvelope(event: event, emittedAt: now)
    }
}
