import MeltWatchCore

/// The engine's whole mutable state and the logic that runs on it (see ``Engine`` for the rules of
/// time). A value type so that processing an input is one exclusive access: inside its mutating
/// methods every field access is checked statically.
struct EngineCore {
    /// Something to hand to the engine's callbacks, in order, once the input is processed.
    enum Notice {
        case event(AlarmEvent)
        case outcome(InterlockOutcome)
        case setpoint(SetpointChange)
    }

    /// Where a signal belongs, packed for the per-reading lookup.
    struct Binding {
        var equipment: Int32
        /// The template role; a setpoint `k` of the equipment is `-(k + 1)` (EngineCore+Setpoints).
        var role: Int32
        /// Its slot in `health`, or -1 when its health is not judged.
        var healthSlot: Int32
        /// Its plant's index in `plants` (Engine+Silence).
        var plant: Int32
    }

    let model: EngineModel
    let allowedLatenessMilliseconds: Int64
    /// Per equipment; replaced only by a reload carrying an unchanged equipment over (Engine+Reload).
    var monitors: [any EquipmentMonitor]
    /// Per signal: `model.signals` packed.
    let bindings: [Binding]
    /// Per equipment: its gate signal (e.g. `furnace_operating`), or -1 if the template has none.
    let gateSignals: [Int]
    /// Per equipment: where its rules' tracks start in `tracks`.
    let trackBase: [Int]

    var counters = Engine.Counters()
    var signals: [SignalState]
    var lastTick: EventTime?
    /// When the readings being applied were read (``EngineInput/arrival(_:)``), until the next tick;
    /// without one the last tick stands in for it (streams without arrivals: tests, older journals).
    var arrival: EventTime?
    var notices: [Notice] = []

    /// Per equipment and rule (`trackBase[e] + rule`): whether the alarm is open, and its ids.
    var tracks: [Engine.AlarmTrack]
    /// Per signal and ``SignalHealth/Condition`` (`signal × conditions + c`): device alarm tracks.
    var deviceTracks: [Engine.AlarmTrack]
    /// Per signal: its `setpoint-mismatch` track (used by setpoint signals only).
    var setpointTracks: [Engine.AlarmTrack]
    /// Per equipment: `setpoint-mismatch` activations so far (shared by its setpoints).
    var setpointActivations: [Int]
    /// Per equipment and condition: activations so far (the `n` of `alarm_id`, shared by its signals).
    var deviceActivations: [Int]
    /// Per equipment: daemon clock minus gateway event time at its last reading.
    var offsets: [Int64]
    /// Per equipment: whether it operates, from its gate (``refreshOperating(_:)``); true without one.
    var operating: [Bool]
    /// Per equipment: the wall-clock key at which its next deadline is due (deadline + offset +
    /// lateness), nil when its monitor reported no deadline at the last `schedule`: then
    /// ``EquipmentMonitor/advance(to:into:)`` has nothing to do, and a reading skips that call.
    var wanted: [Int64?]
    /// Per equipment: the key of its live entry in `timers`, never later than `wanted`. The gateway
    /// offset moves the wanted key a little with every reading; pushing each move made the heap hold
    /// one stale entry per reading. Instead an entry is pushed only when the wanted key moves
    /// earlier; an entry popped before the wanted key is pushed again at that key, so equipment
    /// still fire in key order.
    var registered: [Int64?]
    var timers = MinHeap()
    var outputs: [RuleOutput] = []
    /// Chattering detection per (equipment, rule), created on a rule's first raise (Engine+Chatter).
    var chatter: [ChatterKey: Chatter] = [:]
    /// Per equipment: `chattering` activations so far (the `n` of its alarm ids).
    var chatterActivations: [Int: Int] = [:]
    /// Open chattering episodes; zero keeps chattering off the hot path.
    var openEpisodes = 0
    /// Per equipment: when its earliest open chattering episode ends.
    var chatterDeadlines: [EventTime?]

    /// The health state machines of the signals the model gives settings for, in signal order.
    var health: [SignalHealth]
    /// `healthSignal[slot]` is the signal that `health[slot]` judges.
    let healthSignal: [Int]
    /// Per equipment: its slots in `health`, ascending.
    let equipmentHealthSlots: [[Int]]
    /// Which health slots a tick must visit; see `Engine+Health.swift`.
    var healthSchedule: HealthSchedule
    /// Scratch list of the health slots one tick visits.
    var dueSlots: [Int] = []
    /// Reference behaviour for tests: every tick visits every signal's health.
    var tickVisitsEverySignal = false
    /// The plants, their signals' slots and staleness bounds (Engine+Silence).
    let plants: PlantLayout
    /// The broker link and each plant's gateway: one cause, one alarm (Engine+Silence).
    var silence: SilenceWatch

    static let conditionCount = SignalHealth.Condition.allCases.count

    init(model: EngineModel, allowedLatenessMilliseconds: Int64) {
        self.model = model
        self.allowedLatenessMilliseconds = allowedLatenessMilliseconds
        let equipmentCount = model.equipment.count
        monitors = model.equipment.map { $0.template.makeMonitor($0.params) }
        var base: [Int] = []
        var ruleCount = 0
        for eq in model.equipment {
            base.append(ruleCount)
            ruleCount += eq.template.rules.count
        }
        trackBase = base
        tracks = Array(repeating: Engine.AlarmTrack(), count: ruleCount)
        offsets = Array(repeating: 0, count: equipmentCount)
        operating = Array(repeating: true, count: equipmentCount)
        registered = Array(repeating: nil, count: equipmentCount)
        wanted = Array(repeating: nil, count: equipmentCount)
        chatterDeadlines = Array(repeating: nil, count: equipmentCount)
        signals = Array(repeating: SignalState(), count: model.signals.count)
        deviceTracks = Array(repeating: Engine.AlarmTrack(), count: model.signals.count * Self.conditionCount)
        deviceActivations = Array(repeating: 0, count: equipmentCount * Self.conditionCount)
        setpointTracks = Array(repeating: Engine.AlarmTrack(), count: model.signals.count)
        setpointActivations = Array(repeating: 0, count: equipmentCount)

        var health: [SignalHealth] = []
        var healthSignal: [Int] = []
        var bindings: [Binding] = []
        var equipmentHealthSlots: [[Int]] = Array(repeating: [], count: equipmentCount)
        var gates = Array(repeating: -1, count: equipmentCount)
        let plantOf = PlantLayout.plantIndices(model).perEquipment
        for (i, s) in model.signals.enumerated() {
            let template = model.equipment[s.equipment].template
            if s.role >= template.roles.count {
                bindings.append(Binding(equipment: Int32(s.equipment), role: Int32(template.roles.count - s.role - 1), healthSlot: -1,
                                        plant: Int32(plantOf[s.equipment])))
                continue
            }
            if let gate = template.gateRole, template.roles[s.role].name == gate { gates[s.equipment] = i }
            var slot: Int32 = -1
            if let h = s.health {
                slot = Int32(health.count)
                equipmentHealthSlots[s.equipment].append(health.count)
                healthSignal.append(i)
                health.append(SignalHealth(staleAfterMilliseconds: h.staleAfterMilliseconds, frozenAfterMilliseconds: h.frozenAfterMilliseconds,
                                           range: h.range, requiredFromStart: h.required))
            }
            bindings.append(Binding(equipment: Int32(s.equipment), role: Int32(s.role), healthSlot: slot, plant: Int32(plantOf[s.equipment])))
        }
        self.bindings = bindings
        gateSignals = gates
        self.health = health
        self.healthSignal = healthSignal
        self.equipmentHealthSlots = equipmentHealthSlots
        healthSchedule = HealthSchedule(slots: health.count, equipment: equipmentCount)
        plants = PlantLayout(model: model, equipmentHealthSlots: equipmentHealthSlots, health: health)
        silence = SilenceWatch(plants: plants.ids.count, slots: health.count)
        outputs.reserveCapacity(8)
    }

    mutating func process(_ input: EngineInput) {
        switch input {
        case .reading(let r): apply(r)
        case .tick(let now): tick(now)
        case .arrival(let time): arrival = time
        case .linkDown(let at): link(up: false, at: at)
        case .linkUp(let at): link(up: true, at: at)
        case .clockStep(let delta): shiftClock(by: delta)
        case .lost(let loss): lose(loss)
        case .action, .reload, .checkpoint, .timing: break  // for the alarm book and the stage, after the engine
        }
    }

    /// Empties the monitors' output buffer (without a call when it is already empty: the usual case).
    mutating func clearOutputs() {
        if !outputs.isEmpty { outputs.removeAll(keepingCapacity: true) }
    }

    private mutating func apply(_ r: Reading) {
        let index = Int(r.signal.rawValue)
        guard index >= 0, index < bindings.count else {
            counters.unknownSignals += 1
            return
        }
        let previous = signals[index]
        if let last = previous.time {
            if r.time < last {
                counters.outOfOrder += 1
                return
            }
            if let seq = r.sequence, seq == previous.sequence, r.time == last {
                counters.duplicates += 1
                return
            }
        }
        counters.readings += 1
        let binding = bindings[index]
        let e = Int(binding.equipment)
        if binding.role < 0 {
            applySetpoint(r, signal: index, equipment: e, setpoint: Int(-binding.role - 1), previous: previous.value)
            return
        }
        let isGate = gateSignals[e] == index
        signals[index] = SignalState(value: r.value, quality: r.quality, time: r.time, sequence: r.sequence)
        if isGate { refreshOperating(e) }
        let arrived = arrival ?? lastTick
        if let arrived { offsets[e] = arrived.milliseconds(since: r.time) }
        plantReading(Int(binding.plant), at: arrived ?? r.time)
        clearOutputs()
        let monitor = monitors[e]  // one retain for the whole reading
        if wanted[e] != nil {
            monitor.advance(to: r.time, into: &outputs)
            publish(equipment: e)  // what expired before this reading comes first
            clearOutputs()
            advanceChatter(equipment: e, to: r.time)
        }
        let slot = Int(binding.healthSlot)
        var quality = r.quality
        if slot >= 0 {
            let changes = health[slot].reading(r.value, quality: r.quality, at: r.time, arrivedAt: arrived ?? r.time,
                                               judgedAt: lastTick, judgeStale: silence.linkUp, operating: isOperating(e))
            if !changes.isEmpty { applyHealth(changes, slot: slot) }
            healthSchedule.update(slot, deadline: health[slot].deadline)
            // A reading outside the instrument's range is as bad as one the gateway marks bad: the
            // rules get it as bad, so it cancels pending raises instead of tripping on a broken sensor.
            if health[slot].latestIsBad { quality = .bad }
        }
        if isGate { refreshOperating(e) }  // a reading outside its range is bad: the gate is unknown
        monitor.reading(role: Int(binding.role), value: r.value, quality: quality, at: r.time, into: &outputs)
        publish(equipment: e)
        schedule(e, monitor)
    }

    // Kept out of `process`: ticks are rare next to readings, and inlined here their code made
    // every reading's path longer (measured with callgrind).
    @inline(never)
    private mutating func tick(_ now: EventTime) {
        counters.ticks += 1
        lastTick = now
        arrival = nil  // the next batch brings its own (live and replayed streams alike)
        // While the broker link is down nothing is judged on the daemon clock: no evidence either way.
        guard silence.linkUp else { return }
        watchGateways(now)
        tickHealth(now)
        while let top = timers.peek, top.key <= now.milliseconds {
            _ = timers.pop()
            let e = top.index
            guard registered[e] == top.key else { continue }  // superseded by an earlier push
            guard let want = wanted[e] else {
                registered[e] = nil
                continue
            }
            if want > top.key {
                // Registered early (the offset moved the deadline later since): wait for the real key.
                registered[e] = want
                timers.push(key: want, index: e)
                continue
            }
            registered[e] = nil
            wanted[e] = nil
            let equipmentTime = EventTime(milliseconds: now.milliseconds - offsets[e] - allowedLatenessMilliseconds)
            clearOutputs()
            monitors[e].advance(to: equipmentTime, into: &outputs)
            publish(equipment: e)
            advanceChatter(equipment: e, to: equipmentTime)
            schedule(e)
        }
    }

    mutating func schedule(_ e: Int) { schedule(e, monitors[e]) }

    /// Registers equipment `e`'s next deadline (its monitor is `monitor`) in the timer queue.
    mutating func schedule(_ e: Int, _ monitor: any EquipmentMonitor) {
        var next = monitor.nextDeadline
        if openEpisodes > 0, let c = chatterDeadline(equipment: e), next == nil || c < next! { next = c }
        guard let deadline = next else {
            if wanted[e] != nil { wanted[e] = nil }
            return
        }
        let key = deadline.milliseconds + offsets[e] + allowedLatenessMilliseconds
        wanted[e] = key
        if let r = registered[e], r <= key { return }  // the live entry fires first, then re-queues
        registered[e] = key
        timers.push(key: key, index: e)
    }

    /// Turns the monitor outputs of equipment `e` into alarm events and interlock outcomes.
    mutating func publish(equipment e: Int) {
        guard !outputs.isEmpty else { return }
        let eq = model.equipment[e]
        for o in outputs {
            if o.transition == .recorded {
                if let i = o.interlock {
                    counters.interlockOutcomes[i.kind, default: 0] += 1
                    notices.append(.outcome(InterlockOutcome(
                        plant: eq.plant, equipment: eq.id, trigger: eq.template.rules[i.triggerRuleIndex].id, kind: i.kind,
                        trippedAt: i.trippedAt, latencyMilliseconds: o.latencyMilliseconds, cause: o.cause
                    )))
                }
                continue
            }
            let spec = eq.template.rules[o.ruleIndex]
            let t = trackBase[e] + o.ruleIndex
            var track = tracks[t]
            let state: AlarmEvent.State
            let kind: AlarmEvent.Kind
            switch o.transition {
            case .raised:
                guard !track.active else { continue }
                track.activations += 1
                track.ordinal = 1
                track.active = true
                kind = .raised
                state = .activeUnacked
            case .cleared:
                guard track.active else { continue }
                track.ordinal += 1
                track.active = false
                kind = .cleared
                // Suppressed by design (ISA-18.2): a rule that applies only while the gate is open
                // (it reads the gate role) and clears because the gate closed needs no acknowledgement.
                let gated = eq.template.gateRole.map { spec.signals.contains($0) } ?? false
                state = gated && !isOperating(e) ? .suppressed : .rtnUnacked
            case .recorded:
                continue
            }
            tracks[t] = track
            counters.events += 1
            notices.append(.event(AlarmEvent(
                kind: kind, state: state, alarmClass: spec.alarmClass, rule: spec.id, priority: spec.priority,
                plant: eq.plant, equipment: eq.id, activation: track.activations, ordinal: track.ordinal,
                signals: o.signals ?? spec.signals, value: o.value, limit: o.limit, unit: spec.unit,
                latencyMilliseconds: o.latencyMilliseconds, cause: o.cause, basis: o.basis ?? spec.basis(in: eq.industry),
                message: o.message, eventTime: o.time, configHash: model.configHash
            )))
            if kind == .raised { noteRaise(equipment: e, rule: o.ruleIndex, at: o.time) }
        }
    }
}

/// A binary min-heap of (wall-clock key, index): the engine's timer queues (equipment, signal health).
struct MinHeap: Codable {
    struct Entry: Codable {
        var key: Int64
        var index: Int
    }

    private var items: [Entry] = []

    var peek: Entry? { items.first }

    var count: Int { items.count }

    mutating func push(key: Int64, index: Int) {
        items.append(Entry(key: key, index: index))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].key < items[parent].key else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// Moves every key by `delta`: the order, and so the heap, stays as it is.
    mutating func shift(by delta: Int64) {
        for i in items.indices { items[i].key += delta }
    }

    mutating func pop() -> Entry? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count, items[l].key < items[m].key { m = l }
                if r < items.count, items[r].key < items[m].key { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
