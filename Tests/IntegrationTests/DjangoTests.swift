import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Examples/django on a real host with PostgreSQL: the migration runs in the new release before it
/// starts, collectstatic fills the shared directory, the smoke check sees no pending migration;
/// a release whose migration fails halfway leaves the database exactly as it was (row count and a
/// checksum of the rows, the columns, the applied migrations) and the old release serving, with no
/// failed request under load; `berth migrate rollback` takes the schema back.
extension Integration {
    @Suite(.serialized) struct DjangoTests {
        /// A migration that changes the table, then fails: PostgreSQL runs it in one transaction.
        static let brokenMigration = """
            from django.db import migrations


            def fail(apps, schema_editor):
                raise RuntimeError("migration 0004 fails on purpose, after changing the table")


            class Migration(migrations.Migration):
                dependencies = [("notes", "0003_note_archived")]
                operations = [
                    migrations.RunSQL("ALTER TABLE notes_note ADD COLUMN flagged boolean"),
                    migrations.RunSQL("UPDATE notes_note SET text = 'overwritten'"),
                    migrations.RunPython(fail, migrations.RunPython.noop),
                ]

            """

        /// What the database holds, in one line: rows, their checksum, the columns, the migrations.
        static func snapshot(_ testbed: Testbed) throws -> String {
            let sql = "SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || text || ':' || pinned, ',' ORDER BY id)), '-') FROM notes_note; "
                + "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'notes_note'; "
                + "SELECT string_agg(name, ',' ORDER BY name) FROM django_migrations WHERE app = 'notes';"
            let output = try testbed.run(on: "h1", "runuser -u postgres -- psql -d notes -At -c \(ShellQuoting.quote(sql))")
            #expect(output.status == 0, "\(output.combined)")
            return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: " | ")
        }

        @Test func migrationsRunBeforeTheSwitchAndAFailedOneLeavesTheDatabaseAsItWas() throws {
            let testbed = try FleetAccess.ensure(hosts: 1)
            let berth = try BerthCLI.locate()
            let example = Repository.root.appendingPathComponent("Examples/django").path
            let vendored = try RunningProcess.start([example + "/vendor.sh"]).wait()
            #expect(vendored.status == 0, "vendor.sh: \(vendored.combined)")
            try #require(vendored.status == 0)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-django-\(UUID().uuidString)").path
            try FileManager.default.copyItem(atPath: example, toPath: directory)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let app = AppWorkspace(directory: directory, appName: "notes", domain: "notes.test")
            defer {
                CrashConsistencyTests.removeApp(app, on: "h1", testbed)
                _ = try? testbed.run(on: "h1", "runuser -u postgres -- psql -q -c 'DROP DATABASE IF EXISTS notes' -c 'DROP ROLE IF EXISTS notes'; systemctl stop postgresql")
            }
            let database = try testbed.run(on: "h1", """
                systemctl start postgresql && runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 \
                  -c 'DROP DATABASE IF EXISTS notes' -c 'DROP ROLE IF EXISTS notes' \
                  -c "CREATE ROLE notes LOGIN PASSWORD 'notes-secret'" -c 'CREATE DATABASE notes OWNER notes'
                """)
            try #require(database.status == 0, "PostgreSQL on h1: \(database.combined)")
            let address = testbed.address(of: "h1")

            // The first deploy migrates an empty database, collects the static files and passes
            // its smoke check (no migration pending).
            try app.setVersion("1.0.0")
            let first = try berth.run(["deploy"], in: directory, sshConfig: testbed.sshConfig)
            #expect(first.status == 0, "\(first.combined)")
            #expect(first.stdout.contains("migrate"), "\(first.stdout)")
            #expect(try Curl.version(address, host: app.domain, path: "/health") == "1.0.0")
            for text in ["first", "second", "third"] {
                let post = try RunningProcess.start(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                                     "-H", "Host: notes.test", "-H", "Content-Type: application/json",
                                                     "--data", #"{"text": "\#(text)"}"#, "http://\(address)/notes"]).wait()
                #expect(post.stdout == "201", "POST /notes: \(post.combined)")
            }
            let css = try RunningProcess.start(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5",
                                                "-H", "Host: notes.test", "http://\(address)/static/notes/style.css"]).wait()
            #expect(css.stdout == "200", "collectstatic should have filled the shared static directory: \(css.combined)")
            let before = try Self.snapshot(testbed)
            #expect(before.hasPrefix("3 "), "\(before)")
            #expect(before.hasSuffix("0001_initial,0002_note_pinned,0003_note_archived"), "\(before)")

            // A release whose migration changes the table and then fails: the deploy fails with the
            // migration's output, nothing switched, nothing in the database changed.
            let broken = directory + "/app/notes/migrations/0004_broken.py"
            try Self.brokenMigration.write(toFile: broken, atomically: true, encoding: .utf8)
            try app.setVersion("2.0.0-broken")
            let (failed, loads) = try CrashConsistencyTests.underLoad([address], host: app.domain) {
                try berth.run(["deploy"], in: directory, sshConfig: testbed.sshConfig)
            }
            #expect(failed.status == 1, "\(failed.combined)")
            #expect(failed.combined.contains("the migration 'python3 manage.py migrate --noinput' exited with status 1"), "\(failed.combined)")
            #expect(failed.combined.contains("migration 0004 fails on purpose"), "\(failed.combined)")
            for load in loads { #expect(load.failed == 0, "failed migration: \(load)") }
            #expect(try Curl.version(address, host: app.domain, path: "/health") == "1.0.0")
            #expect(try Self.snapshot(testbed) == before, "the failed migration must leave the database as it was")

            // Without the broken migration the next release deploys (nothing left to migrate).
            try FileManager.default.removeItem(atPath: broken)
            try app.setVersion("3.0.0")
            let good = try berth.run(["deploy"], in: directory, sshConfig: testbed.sshConfig)
            #expect(good.status == 0, "\(good.combined)")
            #expect(try Curl.version(address, host: app.domain, path: "/health") == "3.0.0")

            // berth migrate rollback takes the schema back, in the serving release.
            let undo = try berth.run(["migrate", "rollback", "0002"], in: directory, sshConfig: testbed.sshConfig)
            #expect(undo.status == 0, "\(undo.combined)")
            #expect(undo.combined.contains("Unapplying notes.0003_note_archived"), "\(undo.combined)")
            let after = try Self.snapshot(testbed)
            #expect(!after.contains("archived") && after.hasSuffix("0001_initial,0002_note_pinned"), "\(after)")
            let history = try berth.run(["history"], in: directory, sshConfig: testbed.sshConfig)
            #expect(history.stdout.contains("migrate-rollback"), "\(history.stdout)")
        }
    }
}
