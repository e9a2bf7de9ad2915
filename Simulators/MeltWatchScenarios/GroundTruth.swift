import MeltWatchCore

/// The alarms a scenario must cause and the hazard records it must open, as a document other tools can check a monitor against
/// (`meltwatch-sim --ground-truth FILE` for a run, `--list-scenarios --json` for all of them).
///
/// One entry per alarm event and rig equipment, in event-time order: what ``ScenarioVerdict``
/// checks, written out. `t_ms` is scenario time; with a run's time origin every entry also carries
/// its absolute `event_time` (RFC 3339) and `event_time_ms`. Times hold for the rig's plant
/// (`--print-plants`) at the given scan rate.
public enum GroundTruth {
    public static let schema = "meltwatch.ground-truth/1"

    /// The ground truth of `scenario` at `rate` scans per second; `origin` (epoch milliseconds of
    /// scenario time 0) and `seed` when it describes one run.
    public static func json(_ scenario: Scenario, rate: Double, publish: PublishMode, origin: Int64? = nil, seed: UInt64? = nil,
                            duration: Double? = nil) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.string(schema)
        w.key("scenario"); w.string(scenario.name)
        w.key("summary"); w.string(scenario.summary)
        w.key("rate"); w.number(rate)
        w.key("publish"); w.string(publish.rawValue)
        if let seed { w.key("seed"); w.integer(Int64(bitPattern: seed)) }
        if let origin { w.key("origin_ms"); w.integer(origin) }
        w.key("duration_s"); w.number(duration ?? scenario.duration)
        w.key("plant"); w.string(scenario.rig.plant)
        w.key("rig_changes")
        w.beginArray()
        for c in scenario.rig.changes { w.string(c) }
        w.endArray()
        w.key("alarms")
        w.beginArray()
        for x in scenario.expectedAlarms(rate: rate) {
            for eq in scenario.rig.equipment(of: x.template, only: x.equipment) {
                w.beginObject()
                w.key("equipment"); w.string(eq.id)
                w.key("template"); w.string(x.template)
                w.key("rule"); w.string(x.rule)
                w.key("event"); w.string(x.event.rawValue)
                w.key("signal"); w.string(x.signal)
                w.key("t_ms"); w.integer(x.at?.milliseconds)
                if let origin {
                    let at = x.at.map { EventTime(milliseconds: origin + $0.milliseconds) }
                    w.key("event_time"); w.string(at?.rfc3339)
                    w.key("event_time_ms"); w.integer(at?.milliseconds)
                }
                w.key("class"); w.string(x.alarmClass.rawValue)
                w.key("priority"); w.string(x.priority.rawValue)
                w.key("basis"); w.string(x.basis)
                w.key("latency_ms"); w.integer(x.latencyMilliseconds)
                w.key("cause_contains")
                w.beginArray()
                for c in x.causeContains { w.string(c) }
                w.endArray()
                w.endObject()
            }
        }
        w.endArray()
        // The hazard records it must open (domain.md "Hazards"): one per equipment and cause.
        w.key("hazards")
        w.beginArray()
        for x in scenario.expectedHazards(rate: rate) {
            for eq in scenario.rig.equipment(of: x.template, only: x.equipment) {
                w.beginObject()
                w.key("equipment"); w.string(eq.id)
                w.key("template"); w.string(x.template)
                w.key("rule"); w.string(x.rule)
                w.key("class"); w.string(x.hazardClass)
                w.key("found_t_ms"); w.integer(x.foundAt.milliseconds)
                if let origin { w.key("found_at"); w.string(EventTime(milliseconds: origin + x.foundAt.milliseconds).rfc3339) }
                w.endObject()
            }
        }
        w.endArray()
        w.key("tolerated")
        w.beginArray()
        for t in scenario.tolerated {
            w.beginObject()
            w.key("rule"); w.string(t.rule)
            w.key("template"); w.string(t.template)
            w.key("reason"); w.string(t.reason)
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.output
    }

    /// Every scenario's ground truth at `rate`, one JSON document per line, in listing order.
    public static func library(rate: Double) -> String {
        Scenario.all.map { json($0, rate: rate, publish: $0.publish) + "\n" }.joined()
    }
}
