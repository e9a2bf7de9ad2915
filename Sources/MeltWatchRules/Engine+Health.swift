import MeltWatchCore

/// Sensor health for every role of every template (domain.md "Sensor health", basis 令10 第十四条):
/// the engine judges each signal with a ``SignalHealth`` and raises `stale`, `frozen` and
/// `bad-quality` as `device` alarms naming the sick signal; the equipment's monitor is told, so an
/// interlock check waiting on an unhealthy feedback fails with that cause.
extension EngineCore {
    static let deviceBasis = "令10 第十四条"

    /// True unless the equipment's gate signal says it is not operating (kept by ``refreshOperating(_:)``).
    func isOperating(_ e: Int) -> Bool { operating[e] }

    /// Re-derives whether equipment `e` operates after its gate signal's value, quality or health
    /// changed. A gate that is unknown — never reported, bad, or stale — counts as operating
    /// (domain.md: an unknown gate is open); its last good value is not kept as the gate's state.
    /// A change makes every health of `e` see the new state at the next tick.
    mutating func refreshOperating(_ e: Int) {
        let gate = gateSignals[e]
        var now = true
        if gate >= 0, let value = signals[gate].value, signals[gate].quality != .bad, value.asDouble.isFinite {
            let slot = Int(bindings[gate].healthSlot)
            let unhealthy = slot >= 0 && (health[slot].stale || health[slot].frozen || health[slot].bad)
            now = unhealthy || value.asBool
        }
        guard now != operating[e] else { return }
        operating[e] = now
        healthSchedule.operatingChanged(e)
    }

    /// Advances signal health to the daemon clock `now` (stale fires with no input at all), visiting
    /// only the signals ``HealthSchedule`` says a tick can change, in signal order, as a scan of every
    /// signal would.
    mutating func tickHealth(_ now: EventTime) {
        if tickVisitsEverySignal {
            for slot in health.indices { _ = tickHealth(slot: slot, now) }
            return
        }
        healthSchedule.collectDue(at: now, health: health, equipmentSlots: equipmentHealthSlots, into: &dueSlots)
        for k in dueSlots.indices {
            let slot = dueSlots[k]
            // A slot not judged now (its gateway may be silent) waits off the schedule: the plant's
            // next reading or its recovery puts it back (Engine+Silence).
            guard tickHealth(slot: slot, now) else { continue }
            healthSchedule.update(slot, deadline: health[slot].deadline)
        }
    }

    /// Ticks one signal's health; false when its staleness was not judged (one cause, one alarm:
    /// Engine+Silence): then it waits off the schedule.
    private mutating func tickHealth(slot: Int, _ now: EventTime) -> Bool {
        let e = Int(bindings[healthSignal[slot]].equipment)
        let judged = mayJudge(slot: slot, equipment: e, at: now)
        let changes = health[slot].tick(daemonTime: now, operating: isOperating(e), judgeStale: judged)
        guard !changes.isEmpty else { return judged }
        clearOutputs()
        applyHealth(changes, slot: slot)
        publish(equipment: e)
        schedule(e)
        return judged
    }

    /// Emits device alarm events for health transitions and tells the monitor about its role.
    /// Rule outputs the monitor produces are left in `outputs` for the caller to publish.
    mutating func applyHealth(_ changes: [HealthTransition], slot: Int) {
        let i = healthSignal[slot]
        let binding = model.signals[i]
        let e = binding.equipment
        let eq = model.equipment[e]
        let role = eq.template.roles[binding.role]
        for change in changes {
            let c = SignalHealth.Condition.allCases.firstIndex(of: change.condition)!
            let t = i * Self.conditionCount + c
            let a = e * Self.conditionCount + c
            var track = deviceTracks[t]
            guard track.transition(raised: change.raised, activations: &deviceActivations[a]) else { continue }
            deviceTracks[t] = track
            counters.events += 1
            let name = Self.conditionNames[change.condition] ?? change.condition.rawValue
            notices.append(.event(AlarmEvent(
                kind: change.raised ? .raised : .cleared, state: change.raised ? .activeUnacked : .rtnUnacked,
                alarmClass: .device, rule: change.condition.rawValue, priority: .high, plant: eq.plant, equipment: eq.id,
                activation: track.activations, ordinal: track.ordinal, signals: [role.name],
                value: signals[i].value?.asDouble, limit: nil, unit: role.unit, cause: change.cause, basis: Self.deviceBasis,
                message: "\(role.name) \(name)\(change.raised ? "" : "已恢复")：\(change.detail)",
                eventTime: change.at, configHash: model.configHash
            )))
        }
        if gateSignals[Int(e)] == i { refreshOperating(Int(e)) }  // a stale or bad gate is open
        let faults = health[slot].faults
        let at = changes.last?.at ?? EventTime(milliseconds: 0)
        monitors[e].health(role: binding.role, healthy: faults.isEmpty, fault: faults.first?.rawValue, at: at, into: &outputs)
    }

    /// The signal's gateway declared it dead (a Sparkplug NDEATH or DDEATH): `stale` now, with the
    /// death as cause. A signal already stale, or one without health (a setpoint), is left as it is.
    mutating func lose(_ loss: SignalLoss) {
        let index = Int(loss.signal.rawValue)
        guard index >= 0, index < bindings.count else {
            counters.unknownSignals += 1
            return
        }
        let slot = Int(bindings[index].healthSlot)
        guard slot >= 0 else { return }
        let e = Int(bindings[index].equipment)
        let what = loss.cause == .nodeDeath ? "边缘节点离线 (Sparkplug NDEATH: the edge node is gone)"
            : "设备离线 (Sparkplug DDEATH: the device is gone)"
        let changes = health[slot].lose(at: loss.time, cause: loss.cause.name, detail: what)
        guard !changes.isEmpty else { return }
        clearOutputs()
        applyHealth(changes, slot: slot)
        publish(equipment: e)
        schedule(e)
        healthSchedule.update(slot, deadline: health[slot].deadline)
    }

    static let conditionNames: [SignalHealth.Condition: String] = [
        .stale: "信号中断 (stale)", .frozen: "数值冻结 (frozen)", .badQuality: "信号质量坏 (bad quality)",
    ]
}

/// Which signals' health a clock tick has to visit, so that a tick costs what is due instead of a
/// scan of every signal (6,000 signals × 10 ticks/s in a 1,000-equipment plant).
///
/// ``SignalHealth/tick(daemonTime:operating:)`` changes a signal's state or reports a transition only
/// when one of these holds, and the schedule hands out every slot for which it does:
/// - its ``SignalHealth/deadline`` (stale, or frozen mapped onto the daemon clock) is at or before
///   the tick: kept in a min-heap keyed by deadline;
/// - its equipment's operating state differs from the one it last saw (a tick restarts the frozen
///   run then): the engine reports every change of a gate value with ``operatingChanged(_:)`` and
///   the next tick visits all of that equipment's signals;
/// - it is the first tick (every signal records it as the start of never-seen staleness): all slots.
/// A tick earlier than the latest one is ignored by every ``SignalHealth`` alike, so it visits none.
/// Visiting more slots than needed is harmless (the tick is then a no-op); the due slots are handed
/// out in ascending order, which is signal order, so events come out as a full scan emits them.
///
/// The heap is lazy: a reading usually moves a deadline later, and then the old entry stays as a
/// lower bound; when it pops, the slot's real deadline is looked up and the slot re-queued if not due.
struct HealthSchedule: Codable {
    private var timers = MinHeap()
    /// Per slot: the key of its live heap entry, a lower bound of its deadline; `.max` when none.
    private var scheduled: [Int64]
    /// Per equipment: whether its operating state changed since the last tick.
    private var dirty: [Bool]
    private var dirtyEquipment: [Int] = []
    /// The latest tick seen (the daemon clock); nil before the first.
    private(set) var clock: EventTime?

    init(slots: Int, equipment: Int) {
        scheduled = Array(repeating: .max, count: slots)
        dirty = Array(repeating: false, count: equipment)
    }

    /// Records a slot's deadline after its state changed (a reading or a tick).
    mutating func update(_ slot: Int, deadline: EventTime?) {
        guard let d = deadline?.milliseconds, d < scheduled[slot] else { return }
        scheduled[slot] = d
        timers.push(key: d, index: slot)
    }

    /// The operating state of equipment `e` changed: its signals must see it at the next tick.
    mutating func operatingChanged(_ e: Int) {
        guard !dirty[e] else { return }
        dirty[e] = true
        dirtyEquipment.append(e)
    }

    /// The daemon clock was rebased by `milliseconds`: every deadline moves with it.
    mutating func shift(by milliseconds: Int64) {
        timers.shift(by: milliseconds)
        for i in scheduled.indices where scheduled[i] != .max { scheduled[i] += milliseconds }
        clock = clock?.adding(milliseconds: milliseconds)
    }

    /// Replaces `due` with the slots a tick at `now` must visit, ascending and without duplicates.
    mutating func collectDue(at now: EventTime, health: [SignalHealth], equipmentSlots: [[Int]], into due: inout [Int]) {
        due.removeAll(keepingCapacity: true)
        if let c = clock, now < c { return }  // the clock stepped back: every signal waits
        let first = clock == nil
        clock = now
        while let top = timers.peek, top.key <= now.milliseconds {
            _ = timers.pop()
            let slot = top.index
            guard scheduled[slot] == top.key else { continue }  // superseded by an earlier deadline
            scheduled[slot] = .max
            guard let d = health[slot].deadline?.milliseconds else { continue }
            if d <= now.milliseconds {
                due.append(slot)
            } else {
                scheduled[slot] = d
                timers.push(key: d, index: slot)
            }
        }
        for e in dirtyEquipment {
            dirty[e] = false
            due.append(contentsOf: equipmentSlots[e])
        }
        dirtyEquipment.removeAll(keepingCapacity: true)
        if first {
            due.removeAll(keepingCapacity: true)
            due.append(contentsOf: scheduled.indices)
            return
        }
        guard due.count > 1 else { return }
        due.sort()
        var kept = 1
        for k in 1..<due.count where due[k] != due[kept - 1] {
            due[kept] = due[k]
            kept += 1
        }
        due.removeLast(due.count - kept)
    }
}
