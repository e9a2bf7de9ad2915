#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole plants on their operating cycles (``PlantModels``): a steel shop with a converter and an
/// arc furnace, an aluminium casting shop with a fixed and a tilting furnace, a dust-collection
/// system. Healthy runs over full cycles must cause no alarm at all; the eventful ones put one
/// fault into a running plant, where the readings around it move as they do in a plant.
extension Scenario {
    static let plants: [Scenario] = [steelShop, steelShopLeak, castingShop, castingOverflow, castingShopWaterLoss, dustShop]

    /// The steel shop: a BOF with its oxygen lance and hood, an EAF with its roof and two wall
    /// panels, a CO detector on the converter platform and one in the control room (GB 50493 levels).
    static let steelShopRig = Rig(
        plant: "baotou-steel", plantName: "包头钢铁 炼钢厂",
        equipment: [
            element("bof1-lance", furnace: "bof", differenceMax: "3.0"),
            element("bof1-hood", furnace: "bof", differenceMax: "4.0"),
            element("eaf1-roof", furnace: "eaf", differenceMax: "3.0"),
            element("eaf1-wall-1", furnace: "eaf", differenceMax: "3.0"),
            element("eaf1-wall-2", furnace: "eaf", differenceMax: "3.0"),
            .init(id: "co-bof1-platform", template: coDetector, params: [.init(key: "preset", value: "gb6222")], signals: []),
            .init(id: "co-control-room", template: coDetector, params: [.init(key: "preset", value: "gb50493")], signals: []),
        ]
    )

    static func element(_ id: String, furnace: String, differenceMax: String) -> Rig.Equipment {
        .init(id: id, template: wce, params: [
            .init(key: "furnace_type", value: furnace), .init(key: "flow_difference_max", value: differenceMax),
            .init(key: "on_delay_s", value: "2"), .init(key: "interlock_warn_s", value: "2"), .init(key: "interlock_deadline_s", value: "5"),
        ], signals: [])
    }

    /// The casting shop: station 1 on a fixed furnace, station 2 on a tilting furnace.
    static let castingShopRig = Rig(
        plant: "nantong-aluminium", plantName: "铝合金深井铸造车间",
        equipment: ["fixed", "tilting"].enumerated().map { i, furnace in
            .init(id: "cast\(i + 1)", template: casting, params: [
                .init(key: "furnace", value: furnace), .init(key: "on_delay_s", value: "1"),
                .init(key: "interlock_warn_s", value: "2"), .init(key: "interlock_deadline_s", value: "5"),
            ], signals: [])
        }
    )

    /// Two bag filters and a wet scrubber, on the templates' default limits and delays.
    static let dustShopRig = Rig(
        plant: "foshan-polishing", plantName: "铝制品抛光 除尘系统",
        equipment: [
            .init(id: "dc1", template: dryCollector, params: [], signals: []),
            .init(id: "dc2", template: dryCollector, params: [], signals: []),
            .init(id: "wc1", template: wetCollector, params: [], signals: []),
        ]
    )

    static let steelShop = Scenario(
        name: "steel-shop",
        summary: "a steel shop for 55 minutes: the BOF through a full heat (charging, 15 min blowing, sampling, tapping, slag "
            + "splashing) and into the next, the EAF through a two-basket heat; water temperatures follow the heat load, meters "
            + "drift, CO detectors see small gas puffs; gateways publish per tag by exception; no alarm",
        duration: 3300,
        phases: [
            .init(0, "BOF charging, EAF charging"),
            .init(300, "BOF blowing: lance down, tilting locked, outlet water warming"),
            .init(1200, "BOF sampling and tapping"),
            .init(240, "EAF melting: power on, electrodes down"),
            .init(2160, "next BOF heat"),
            .init(2940, "EAF tapping"),
        ].sorted { $0.at < $1.at },
        rig: steelShopRig,
        baseline: .models(cycleStarts: ["bof1": 0, "eaf1": 0]),
        publish: .perTag,
        expected: { _ in [] },
        fault: { _, _, _ in }
    )

    /// A wall panel of the arc furnace leaks while it melts; the furnace trips, its electrodes rise
    /// late. A minute later gas escapes near the converter while it blows.
    static let steelShopLeak = Scenario(
        name: "steel-shop-leak",
        summary: "the steel shop running (BOF blowing from t=50 s, EAF melting): EAF wall panel 2 loses 6.5 m3/h between its "
            + "meters from t=60 s to t=90 s; the furnace's power goes off +0.8 s after the trip and the electrodes rise only "
            + "+3.1 s after (interlock-late) and stay up; CO on the converter platform 38 ppm from t=120 s to t=150 s",
        duration: 180,
        phases: [
            .init(0, "steel shop running: EAF melting, BOF charging"),
            .init(50, "BOF blowing"),
            .init(60, "EAF WALL PANEL 2 LEAKING: outlet 6.5 m3/h below inlet"),
            .init(90, "leaking panel isolated"),
            .init(120, "GAS on the converter platform: CO 38 ppm"),
            .init(150, "gas dispersed"),
        ],
        rig: steelShopRig,
        baseline: .models(cycleStarts: ["bof1": 250, "eaf1": 300]),
        publish: .perTag,
        expected: { run in
            let panel = "eaf1-wall-2", platform = "co-bof1-platform"
            let trip = run.seen(60)
            return [
                ExpectedAlarm("flow-difference", .raised, on: wce, at: trip + run.param(panel, "on_delay_s")).only(panel),
                ExpectedAlarm("flow-difference", .cleared, on: wce, at: run.seen(90)).only(panel),
                ExpectedAlarm("co-level-1", .raised, on: coDetector, at: run.seen(120)).only(platform),
                ExpectedAlarm("co-level-1", .cleared, on: coDetector, at: run.seen(150)).only(platform),
            ] + interlockOutcome(run, equipment: panel, trip: trip, feedbacks: [("power_off", 0.8), ("electrodes_raised", 3.1)])
                .map { $0.only(panel) }
        },
        fault: { equipment, t, scan in
            if equipment.equipment == "eaf1-wall-2", t.within(60..<90), let inlet = scan.number("inlet_flow") {
                scan.values["outlet_flow"] = .number(inlet - 6.5)
            }
            // Every element of the arc furnace reports the furnace's feedbacks: it stays down after the trip,
            // which the PLC makes on the excursion itself.
            if equipment.equipment.hasPrefix("eaf1-") {
                let trip = equipment.grid.scan(atOrAfter: SimTime(seconds: 60))
                if t >= trip + 0.8 { scan.values["power_off"] = .bool(true) }
                if t >= trip + 3.1 { scan.values["electrodes_raised"] = .bool(true) }
            }
            if equipment.equipment == "co-bof1-platform", t.within(120..<150) { scan.values["co"] = .number(38) }
        }
    )

    static let castingShop = Scenario(
        name: "casting-shop",
        summary: "an aluminium casting shop for 50 minutes: station 1 (fixed furnace) through a whole cast from pre-check to "
            + "unloading, station 2 (tilting furnace) from mid-cast through its end and the next start; levels, water and "
            + "platform as in a plant; gateways publish per tag by exception; no alarm",
        duration: 3000,
        phases: [
            .init(0, "station 1 pre-check, station 2 casting"),
            .init(240, "station 1 starts: shut-off opens, launders fill, platform starts"),
            .init(1020, "station 2 ends its cast: furnace tilts back, launders drain, platform stops"),
            .init(1380, "station 2 pre-check"),
            .init(1620, "station 2 starts its next cast"),
            .init(2520, "station 1 ends its cast"),
        ],
        rig: castingShopRig,
        baseline: .models(cycleStarts: ["cast1": 0, "cast2": 1500]),
        publish: .perTag,
        expected: { _ in [] },
        fault: { _, _, _ in }
    )

    /// The launder overflows on the tilting furnace's station; the interlock tilts the furnace back,
    /// closes the shut-off and stops the platform in time, and the cast is aborted.
    static let castingOverflow = Scenario(
        name: "casting-overflow",
        summary: "station 2 (tilting furnace) casting past the level gate: the junction level rises 7.5 mm/s from 100 mm at "
            + "t=30 s to 175 mm (level_high 160); the furnace tilts back +0.6 s, the shut-off closes +0.9 s, the platform stops "
            + "+1.4 s after the level crossed 160 mm (ok), the cast is aborted 2 s after the alarm; station 1 starts its own "
            + "cast meanwhile",
        duration: 90,
        phases: [
            .init(0, "station 2 casting (cast ≈ 0.8 m), station 1 in pre-check"),
            .init(30, "LAUNDER OVERFLOW building at station 2's junction"),
            .init(38, "junction level over 160 mm"),
            .init(60, "station 1 starts casting"),
        ],
        rig: castingShopRig,
        baseline: .models(cycleStarts: ["cast1": 180, "cast2": 1000]),
        publish: .perTag,
        expected: { run in
            let raised = run.grid.scan(after: SimTime(seconds: 38)) + run.param("cast2", "on_delay_s")
            return [
                ExpectedAlarm("level-high", .raised, on: casting, at: raised).only("cast2"),
                ExpectedAlarm("level-high", .cleared, on: casting, at: run.grid.scan(atOrAfter: raised + 2)).only("cast2"),
            ]
        },
        fault: { equipment, t, scan in
            guard equipment.equipment == "cast2", t >= 30 else { return }
            // The PLC trips on the first scan over 160 mm; the duty room's alarm follows its on-delay.
            let trip = equipment.grid.scan(after: SimTime(seconds: 38))
            let abort = trip + equipment.onDelaySeconds + 2
            if t < abort {
                scan.values["level_junction"] = .number(min(175, 100 + 7.5 * (t.seconds - 30)))
            } else {
                // Aborted: no metal flows, the launders drain.
                let drained = abort.seconds - t.seconds
                scan.values["casting_active"] = .bool(false)
                scan.values["level_junction"] = .number(175 * exp2(drained / 10))
                scan.values["level_outlet"] = .number(120 * exp2(drained / 10))
            }
            if t >= trip + 0.6 { scan.values["furnace_tilted_back"] = .bool(true) }
            if t >= trip + 0.9 { scan.values["shutoff_closed"] = .bool(true) }
            if t >= trip + 1.4 {
                scan.values["platform_stopped"] = .bool(true)
                // The model's cast is 760 s old at t=0 (1000 s into its cycle, casting from 240 s).
                scan.values["cast_length"] = .number(CastingStationModel.castLength(sinceStart: 760 + (trip + 1.4).seconds))
            }
        }
    )

    /// Nantong 2024 in a running shop: station 1 loses its mould water mid-cast; the shut-off and the
    /// drain act, the casting platform keeps descending.
    static let castingShopWaterLoss = Scenario(
        name: "casting-shop-water-loss",
        summary: "the casting shop running: station 1 (fixed furnace, cast ≈ 0.85 m) loses its mould water (60 m3/h, "
            + "cooling_flow_min 100) from t=30 s to t=60 s; the shut-off closes +0.5 s, the launder disconnects +0.6 s and the drain "
            + "opens +0.8 s after the trip, the platform keeps descending (interlock-failed, latched); station 2 casts on undisturbed",
        duration: 90,
        phases: [
            .init(0, "both stations casting"),
            .init(30, "STATION 1 MOULD WATER LOST: 60 m3/h"),
            .init(60, "mould water restored"),
        ],
        rig: castingShopRig,
        baseline: .models(cycleStarts: ["cast1": 1000, "cast2": 2100]),
        publish: .perTag,
        expected: { run in
            let trip = run.seen(30)
            return ([
                ExpectedAlarm("cooling-flow-low", .raised, on: casting, at: trip + run.param(castID, "on_delay_s")),
                ExpectedAlarm("cooling-flow-low", .cleared, on: casting, at: run.seen(60)),
            ] + castingInterlock(run, trip: trip, shutoff: 0.5, drain: 0.8, platform: nil, launder: 0.6)).map { $0.only(castID) }
        },
        fault: { equipment, t, scan in
            guard equipment.equipment == castID else { return }
            if t.within(30..<60) { scan.values["cooling_flow"] = .number(60) }
            respondCasting(scan: &scan, at: t, trip: equipment.trip(faultStart: 30), shutoff: 0.5, drain: 0.8, platform: nil, launder: 0.6)
        }
    )

    static let dustShop = Scenario(
        name: "dust-shop",
        summary: "a dust-collection system for an hour: two bag filters pulse-cleaned every 10 minutes (≈ 850 → 1250 Pa), "
            + "hoppers warming with the process and cooling in the 5-minute break, a scrubber's sump refilled every 7½ minutes; "
            + "gateways publish per tag by exception; no alarm",
        duration: 3600,
        phases: [
            .init(0, "production: fans and process running"),
            .init(3300, "break: process stopped, fans running"),
        ],
        rig: dustShopRig,
        baseline: .models(cycleStarts: ["dc1": 0, "dc2": 0]),
        publish: .perTag,
        expected: { _ in [] },
        fault: { _, _, _ in }
    )
}
