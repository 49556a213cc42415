// The Slurm backend (core/src/sweeps/slurm_backend.cpp) without a Slurm: the
// jobs it plans, the scripts it writes, and its submissions through fake
// sbatch, scancel and squeue scripts that record their arguments. The real
// cluster is tests/slurm/test_slurm.sh.
#include "distillery/sweep.h"

#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

const char *kExperiment = R"({"version":1,"name":"sw","seed":1,
 "data":{"source":"synthetic-vectors","synthetic_train":400,"synthetic_test":200},
 "teacher":{"model":{"preset":"mlp","hidden":[64]},"train":{"epochs":3,"batch_size":64}},
 "student":{"model":{"preset":"mlp","hidden":[8]},"train":{"epochs":3,"batch_size":64}},
 "distillation":{"method":"kd","temperature":4,"alpha":0.5},
 "sweep":{"grid":{"distillation.temperature":[2,4],"distillation.alpha":[0.5,0.9]},"seeds":[1,2]}})";

std::string readText(const fs::path &p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// An executable script in `dir`.
std::string script(const fs::path &dir, const std::string &name, const std::string &body)
{
    const fs::path p = dir / name;
    std::ofstream(p) << "#!/bin/bash\n" << body;
    fs::permissions(p, fs::perms::owner_all);
    return p.string();
}

} // namespace

class TestSlurmBackend : public QObject {
    Q_OBJECT

    QTemporaryDir tmp_;
    fs::path root() const { return fs::path(tmp_.path().toStdString()); }

    SweepFolder makeSweep(const std::string &name)
    {
        const Experiment e = parseExperiment(kExperiment, "test");
        return createSweepFolder((root() / name).string(), e, planSweep(e));
    }

    // Fake tools that log their arguments to `log`; sbatch prints ids 100, 101... and
    // fails (its own message on stderr) for a script whose name contains `failOn`.
    SlurmOptions fakeTools(const std::string &failOn, bool scancelFails)
    {
        const fs::path bin = root() / "bin";
        fs::create_directories(bin);
        const std::string log = (root() / "calls.log").string();
        SlurmOptions o;
        o.runner = "/opt/distillery/bin/distillery-run";
        o.sbatch = script(bin, "sbatch",
                          "echo \"sbatch $*\" >> " + log + "\n"
                          "case \"${@: -1}\" in *" + failOn + "*) echo 'sbatch: error: refused here' >&2; exit 1;; esac\n"
                          "n=$(grep -c '^sbatch' " + log + ")\necho $((99 + n))';cluster'\n");
        o.scancel = script(bin, "scancel", "echo \"scancel $*\" >> " + log + "\n" +
                                               (scancelFails ? "echo 'scancel: error: no controller' >&2; exit 1\n" : ""));
        o.squeue = script(bin, "squeue", "echo '100 RUNNING'\necho '101 COMPLETED'\n");
        return o;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(tmp_.isValid()); }

    void groupsByWhatEachPointWaitsFor()
    {
        const SweepFolder s = makeSweep("plan");
        SlurmOptions o;
        o.runner = "/opt/distillery/bin/distillery-run";
        o.partition = "gpu";
        o.timeLimit = "1:00:00";
        o.cpusPerTask = 4;
        o.gpusPerTask = 1;
        o.extraLines = {"--mem=8G", "#SBATCH --qos=low", "module load cuda"};
        const auto jobs = planSlurmJobs(s, o);
        QCOMPARE(int(jobs.size()), 3);
        QCOMPARE(QString::fromStdString(jobs[0].name), QString("teacher"));
        QCOMPARE(jobs[0].points, std::vector<int>({0}));
        QCOMPARE(jobs[1].points, std::vector<int>({1, 2, 4, 6}));
        QCOMPARE(jobs[2].points, std::vector<int>({3, 5, 7}));
        QCOMPARE(QString::fromStdString(readText(fs::path(s.dir) / "slurm" / "baselines.points")),
                 QString("1\n2\n4\n6\n"));
        const QString text = QString::fromStdString(readText(jobs[1].script));
        for (const char *line : {"#SBATCH --array=0-3\n", "#SBATCH --partition=gpu\n", "#SBATCH --time=1:00:00\n",
                                 "#SBATCH --cpus-per-task=4\n", "#SBATCH --gpus-per-task=1\n", "#SBATCH --mem=8G\n",
                                 "#SBATCH --qos=low\n", "#SBATCH --kill-on-invalid-dep=yes\n", "\nmodule load cuda\n"})
            QVERIFY2(text.contains(line), line);
        // Every #SBATCH line before the first command.
        QVERIFY(text.lastIndexOf("#SBATCH") < text.indexOf("module load cuda"));
        QVERIFY(text.contains("exec '/opt/distillery/bin/distillery-run' --sweep-point '" +
                              QString::fromStdString(s.dir) + "' --point array --point-map"));
    }

    void submitsInOrderWithDependencies()
    {
        fs::remove(root() / "calls.log");
        const SweepFolder s = makeSweep("submit");
        const auto jobs = submitSweepToSlurm(s, fakeTools("no-such-job", false));
        QCOMPARE(int(jobs.size()), 3);
        QCOMPARE(QString::fromStdString(jobs[0].id + jobs[1].id + jobs[2].id), QString("100101102"));
        QVERIFY(jobs[0].after.empty());
        QCOMPARE(jobs[1].after, std::vector<std::string>({"100"}));
        QCOMPARE(jobs[2].after, std::vector<std::string>({"100", "101"}));
        const QString calls = QString::fromStdString(readText(root() / "calls.log"));
        QVERIFY2(calls.contains("--dependency=afterok:100:101 " + QString::fromStdString(jobs[2].script)),
                 qPrintable(calls));
        QVERIFY(!calls.contains("scancel"));
        const QString written = QString::fromStdString(readText(fs::path(s.dir) / "slurm" / "jobs.json"));
        QVERIFY(written.contains("\"id\": \"102\""));
        QCOMPARE(slurmJobsQueued({"100", "101", "102"}, fakeTools("x", false)), std::vector<std::string>({"100"}));
        // Job 100 still runs: submitting the sweep again is refused, naming it.
        try {
            submitSweepToSlurm(s, fakeTools("x", false));
            QFAIL("no error");
        } catch (const SlurmError &e) {
            QVERIFY2(QString(e.what()).contains("still queued (squeue -j 100)"), e.what());
        }
    }

    void aFailureHalfWayCancelsAndSaysSo()
    {
        fs::remove(root() / "calls.log");
        const SweepFolder s = makeSweep("half");
        try {
            submitSweepToSlurm(s, fakeTools("points.sbatch", false));
            QFAIL("no error");
        } catch (const SlurmError &e) {
            const QString m = e.what();
            QVERIFY2(m.contains("submitting the points job") && m.contains("sbatch: error: refused here") &&
                         m.contains("(teacher 100, baselines 101) were cancelled with scancel"),
                     qPrintable(m));
        }
        QVERIFY(QString::fromStdString(readText(root() / "calls.log")).contains("scancel 100 101"));
        QVERIFY(!fs::exists(fs::path(s.dir) / "slurm" / "jobs.json"));

        fs::remove(root() / "calls.log");
        try {
            submitSweepToSlurm(makeSweep("half2"), fakeTools("baselines.sbatch", true));
            QFAIL("no error");
        } catch (const SlurmError &e) {
            const QString m = e.what();
            QVERIFY2(m.contains("(teacher 100) could NOT be cancelled") && m.contains("no controller"), qPrintable(m));
        }
    }

    void missingSbatchIsOneMessage()
    {
        SlurmOptions o = fakeTools("x", false);
        o.sbatch = (root() / "no-such-dir" / "sbatch").string();
        try {
            submitSweepToSlurm(makeSweep("missing"), o);
            QFAIL("no error");
        } catch (const SlurmError &e) {
            QVERIFY2(QString(e.what()).contains("sbatch not found: is Slurm installed? (the local backend runs "
                                                "without it); nothing was submitted"),
                     e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestSlurmBackend)
#include "tst_slurm_backend.moc"
