import MeltWatchConfig
import MeltWatchCore
import MeltWatchHazards
import MeltWatchReport
import MeltWatchRules

/// Builds the audit report's input for one plant and period by replaying the journal twice: once
/// for the alarm events, interlock outcomes and the period, once for the readings around each alarm
/// (the evidence charts), so the memory used does not grow with the period.
public enum AuditBuilder {
    /// Evidence kept before an alarm is raised and after it clears.
    static let before: Int64 = 300_000
    static let after: Int64 = 60_000

    public static func input(configPath: String, journalDirectory: String, plant plantID: String?,
                             from: EventTime?, to: EventTime?, generatedAt: EventTime) throws -> AuditInput {
        let (config, bytes) = try ConfigLoader.load(path: configPath)
        guard let plant = plantID.map({ id in config.plants.first { $0.id == id } }) ?? (config.plants.count == 1 ? config.plants.first : nil) else {
            throw DaemonError(description: plantID.map { "no plant '\($0)' in \(configPath)" }
                ?? "the config has several plants (\(config.plants.map(\.id).joined(separator: ", "))); choose one with --plant")
        }

        var events: [AlarmEvent] = []
        var outcomes: [InterlockOutcome] = []
        var setpointChanges: [SetpointChange] = []
        var hazards: [String: Hazard] = [:]
        var first: EventTime?, last: EventTime?
        var observer = Replay.Observer(
            event: { e, _ in if e.plant == plant.id { events.append(e) } },
            interlockOutcome: { o in if o.plant == plant.id { outcomes.append(o) } },
            setpointChange: { c in if c.plant == plant.id { setpointChanges.append(c) } },
            reading: { r, _ in
                // Gateways backfill: event times may precede the records' receive times.
                first = min(first ?? r.time, r.time)
                last = max(last ?? r.time, r.time)
            },
            record: { t in
                first = min(first ?? t, t)
                last = max(last ?? t, t)
            }
        )
        observer.hazardRecord = { h in if h.plant == plant.id { hazards[h.id] = h } }
        _ = try Replay.run(configPath: configPath, journalDirectory: journalDirectory, from: from, to: to, observer: observer)
        let periodFrom = from ?? first ?? generatedAt
        let periodTo = to ?? last ?? generatedAt
        // The ledger: the hazards found in the period, as the journal last shows them.
        let found = hazards.values.filter { $0.foundAt >= periodFrom && $0.foundAt <= periodTo }

        // Evidence windows per signal: around every alarm that names it.
        var windows: [SignalKey: [ClosedRange<Int64>]] = [:]
        var raisedAt: [String: EventTime] = [:]
        for e in events {
            switch e.kind {
            case .raised: raisedAt[e.alarmID] = e.eventTime
            case .cleared:
                if let r = raisedAt.removeValue(forKey: e.alarmID) {
                    for s in e.signals { windows[SignalKey(equipment: e.equipment, signal: s), default: []].append(r.milliseconds - before...e.eventTime.milliseconds + after) }
                }
            default: break
            }
        }
        for (id, r) in raisedAt {
            guard let e = events.first(where: { $0.alarmID == id }) else { continue }
            for s in e.signals { windows[SignalKey(equipment: e.equipment, signal: s), default: []].append(r.milliseconds - before...periodTo.milliseconds) }
        }

        var points: [SignalKey: [EvidencePoint]] = [:]
        if !windows.isEmpty {
            _ = try Replay.run(configPath: configPath, journalDirectory: journalDirectory, from: from, to: to, observer: .init(
                event: { _, _ in },
                reading: { r, model in
                    let binding = model.signals[Int(r.signal.rawValue)]
                    let eq = model.equipment[binding.equipment]
                    guard eq.plant == plant.id else { return }
                    let key = SignalKey(equipment: eq.id, signal: eq.roleName(binding.role))
                    guard let ws = windows[key], ws.contains(where: { $0.contains(r.time.milliseconds) }) else { return }
                    guard r.quality != .bad, r.value.asDouble.isFinite else { return }
                    points[key, default: []].append(EvidencePoint(r.time, r.value.asDouble))
                }
            ))
        }
        var samples: [EvidenceSeries] = []
        for eq in plant.equipment {
            for role in eq.template.roles {
                let key = SignalKey(equipment: eq.id, signal: role.name)
                guard let p = points[key] else { continue }
                samples.append(EvidenceSeries(equipment: eq.id, signal: role.name, unit: role.unit, points: p))
            }
        }

        // Availability: the period minus the time each signal had a device alarm (stale, frozen, bad).
        let observed = max(0, periodTo.milliseconds - periodFrom.milliseconds)
        var unhealthy: [SignalKey: [ClosedRange<Int64>]] = [:]
        var openDevice: [String: (SignalKey, Int64)] = [:]
        for e in events where e.alarmClass == .device && e.rule != "chattering" {
            guard let s = e.signals.first else { continue }
            let key = SignalKey(equipment: e.equipment, signal: s)
            switch e.kind {
            case .raised: openDevice[e.alarmID] = (key, max(e.eventTime.milliseconds, periodFrom.milliseconds))
            case .cleared:
                if let (k, start) = openDevice.removeValue(forKey: e.alarmID) {
                    unhealthy[k, default: []].append(start...max(start, min(e.eventTime.milliseconds, periodTo.milliseconds)))
                }
            default: break
            }
        }
        for (_, (k, start)) in openDevice { unhealthy[k, default: []].append(start...max(start, periodTo.milliseconds)) }
        var availability: [SignalAvailability] = []
        for eq in plant.equipment {
            for role in eq.template.roles {
                let key = SignalKey(equipment: eq.id, signal: role.name)
                let down = unionLength(unhealthy[key] ?? [])
                availability.append(SignalAvailability(equipment: eq.id, signal: role.name,
                                                       healthyMilliseconds: max(0, observed - down), observedMilliseconds: observed))
            }
        }

        return AuditInput(
            plantID: plant.id, plantName: plant.name, from: periodFrom, to: periodTo, generatedAt: generatedAt,
            configHash: Daemon.configHash(bytes), events: events, interlockOutcomes: outcomes, samples: samples,
            availability: availability, setpointChanges: setpointChanges
        ).withHazards(found)
    }

    /// The total length covered by possibly overlapping ranges.
    static func unionLength(_ ranges: [ClosedRange<Int64>]) -> Int64 {
        var total: Int64 = 0
        var current: ClosedRange<Int64>?
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let c = current, r.lowerBound <= c.upperBound {
                current = c.lowerBound...max(c.upperBound, r.upperBound)
            } else {
                if let c = current { total += c.upperBound - c.lowerBound }
                current = r
            }
        }
        if let c = current { total += c.upperBound - c.lowerBound }
        return total
    }
}

extension AuditInput {
    /// This input with its ledger's hazard records.
    func withHazards(_ hazards: [Hazard]) -> AuditInput {
        var input = self
        input.hazards = hazards
        return input
    }
}
