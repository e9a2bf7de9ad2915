import ArgumentParser
import Foundation
import MeltWatchConfig
import MeltWatchCore
import MeltWatchHazardStore
import MeltWatchHazards
import MeltWatchReport

/// `meltwatch hazards list|show|export`: the hazard records (contract §7) and the regulator's forms,
/// read from the database in `journal.dir` (the daemon need not be stopped: WAL readers do not block it).
struct HazardsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hazards",
        abstract: "The hazard records (隐患) and the regulator's forms filled from them.",
        subcommands: [List.self, Show.self, Export.self]
    )

    /// The database the config's journal directory holds.
    static func store(config path: String) throws -> (MeltWatchConfig, HazardStore) {
        let (config, _) = try ConfigLoader.load(path: path)
        return (config, try HazardStore(readingFrom: config.journal.dir + "/" + HazardStore.fileName))
    }

    static func fail(_ command: String, _ error: any Error) -> ExitCode {
        FileHandle.standardError.write(Data("meltwatch hazards \(command): \(error)\n".utf8))
        return ExitCode(1)
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per hazard record; --json for the API's JSON.")

        @Option(name: .long, help: "The daemon's YAML configuration (the database is in its journal.dir).")
        var config: String
        @Option(name: .long, help: "open, rectifying, awaiting-verification, closed or all.")
        var status: String = "all"
        @Option(name: .long, help: "Only this plant.")
        var plant: String?
        @Flag(name: .long, help: "Print JSON (as GET /api/hazards).")
        var json = false

        func run() throws {
            let filter: Hazard.Status?
            do {
                filter = try Hazard.Status.filter(status)
            } catch {
                throw ValidationError("--\(error)")
            }
            do {
                let (_, store) = try HazardsCommand.store(config: config)
                let hazards = try store.hazards(status: filter, plant: plant)
                if json {
                    print(HazardJSON.list(hazards))
                    return
                }
                for h in hazards {
                    let due = h.rectification.map { " 时限 \($0.deadline.beijingMinute)" } ?? ""
                    print("\(h.id)\t\(h.hazardClass.rawValue)\t\(h.status.rawValue)\(h.overdue ? " OVERDUE" : "")\t\(h.plant)/\(h.equipment)\t\(h.foundAt.beijingMinute)\(due)\t\(h.description)")
                }
                FileHandle.standardError.write(Data("\(hazards.count) hazard records\n".utf8))
            } catch {
                throw HazardsCommand.fail("list", error)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One hazard record with its history, as JSON.")

        @Argument(help: "The hazard id (HZ-<plant>-<year>-<n>).")
        var id: String
        @Option(name: .long, help: "The daemon's YAML configuration.")
        var config: String

        func run() throws {
            let found: Hazard?
            do {
                found = try HazardsCommand.store(config: config).1.hazard(id)
            } catch {
                throw HazardsCommand.fail("show", error)
            }
            guard let found else { throw HazardsCommand.fail("show", HazardStoreError(description: "no hazard \(id)")) }
            print(HazardJSON.hazard(found))
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A form for a week: ledger (附件2 重大事故隐患台账), checklist (附件5 检查问题隐患清单) or weekly (附件1 周调度统计表).")

        enum Format: String, ExpressibleByArgument, CaseIterable {
            case html, csv, json
        }

        @Option(name: .long, help: "The daemon's YAML configuration.")
        var config: String
        @Option(name: .long, help: "ledger, checklist or weekly.")
        var form: String
        @Option(name: .long, help: "html (A4), csv (UTF-8 with BOM) or json.")
        var format: Format
        @Option(name: .long, help: "The file to write.")
        var output: String
        @Option(name: .long, help: "Only this plant (default: every plant of the config).")
        var plant: String?
        @Option(name: .long, help: "The ISO week, e.g. 2026-W49, cut at its Friday 24:00 Beijing time (default: this week).")
        var week: String?

        func run() throws {
            guard let kind = HazardForms.Form(rawValue: form) else { throw ValidationError("--form must be ledger, checklist or weekly") }
            var parsedWeek: (year: Int, week: Int)?
            if let week {
                guard let w = HazardForms.parseWeek(week) else { throw ValidationError("--week must be an ISO week such as 2026-W49") }
                parsedWeek = w
            }
            do {
                let (cfg, store) = try HazardsCommand.store(config: config)
                var plants = cfg.plants.map {
                    HazardForms.Plant(id: $0.id, name: $0.name, region: $0.region ?? "", industry: HazardForms.Plant.industryName($0.industry.rawValue))
                }
                if let plant {
                    plants = plants.filter { $0.id == plant }
                    guard !plants.isEmpty else { throw ValidationError("no plant \(plant) in \(config)") }
                }
                let now = EventTime(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
                let forms = HazardForms(form: kind, plants: plants, inspector: cfg.hazards.inspector, campaignStart: cfg.hazards.campaignStart,
                                        week: parsedWeek, hazards: try store.hazards(plant: plant), generatedAt: now)
                let text: String = switch format {
                case .html: forms.html()
                case .csv: forms.csv()
                case .json: forms.json()
                }
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8)) else {
                    throw HazardStoreError(description: "cannot write \(output)")
                }
                let rows = forms.tables.reduce(0) { $0 + $1.rows.count }
                FileHandle.standardError.write(Data("\(output): \(kind.rawValue) (\(format.rawValue)) for \(forms.weekName), cut \(forms.cutoff.rfc3339): \(rows) rows\n".utf8))
            } catch let e as ValidationError {
                throw e
            } catch {
                throw HazardsCommand.fail("export", error)
            }
        }
    }
}
