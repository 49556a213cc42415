// One run over several processes (core/src/distributed/, docs/DISTRIBUTED.md):
// distillery-run --nproc 2 against one process, a rank killed or hung, and
// the refusals, through the real runner and real c10d process groups on the
// loopback address.
#include "testutil.h"

#include "distillery/distributed.h"
#include "distillery/engine.h"
#include "models/batch_norm.h"
#include "distillery/experiment.h"

#include <QtTest/QtTest>

#include <torch/torch.h>

#include <arpa/inet.h>
#include <csignal>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

using namespace distillery;
namespace fs = std::filesystem;

namespace {

// 6,400 training rows in batches of 128: 50 steps per epoch. No batch norm
// and no dropout, so two processes of 64 rows should equal one of 128.
Experiment fiftySteps()
{
    Experiment e = testutil::syntheticExperiment();
    e.data.syntheticTrain = 6400;
    e.data.syntheticTest = 1000;
    e.data.validationFraction = 0;
    e.teacher.train.epochs = 1;
    e.teacher.train.batchSize = 128;
    e.studentTrain.epochs = 1;
    e.studentTrain.batchSize = 128;
    e.baseline = false;
    e.threads = 1;
    e.logEverySteps = 10;
    return e;
}

struct Outcome {
    int code = -1;
    QString out;
    QString err;
    double seconds = 0;
};

Outcome runner(const QStringList &args, const QProcessEnvironment &env = QProcessEnvironment::systemEnvironment(),
               int timeoutMs = 240000)
{
    QProcess p;
    p.setProcessEnvironment(env);
    QElapsedTimer t;
    t.start();
    p.start(DISTILLERY_RUNNER, args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError(), double(t.elapsed()) / 1000.0};
}

QString write(const Experiment &e, const QString &file)
{
    saveExperiment(e, file.toStdString());
    return file;
}

std::vector<fs::path> runFolders(const QString &workspace)
{
    std::vector<fs::path> runs;
    const fs::path dir = fs::path(workspace.toStdString()) / "runs";
    if (fs::is_directory(dir))
        for (const auto &entry : fs::directory_iterator(dir))
            runs.push_back(entry.path());
    return runs;
}

// Every tensor of a saved model, by its dotted name.
void readAll(torch::serialize::InputArchive &a, const std::string &prefix, std::map<std::string, torch::Tensor> &out)
{
    for (const auto &key : a.keys()) {
        torch::Tensor t;
        if (a.try_read(key, t) || a.try_read(key, t, true)) {
            out[prefix + key] = t;
            continue;
        }
        torch::serialize::InputArchive sub;
        if (a.try_read(key, sub))
            readAll(sub, prefix + key + ".", out);
    }
}

std::map<std::string, torch::Tensor> weights(const fs::path &file)
{
    torch::serialize::InputArchive a;
    a.load_from(file.string());
    std::map<std::string, torch::Tensor> out;
    readAll(a, "", out);
    return out;
}

nlohmann::json summary(const fs::path &run)
{
    std::ifstream in(run / "summary.json");
    return nlohmann::json::parse(in);
}

QProcessEnvironment rankEnvironment(int rank, int size, int port)
{
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert("RANK", QString::number(rank));
    env.insert("WORLD_SIZE", QString::number(size));
    env.insert("MASTER_ADDR", "127.0.0.1");
    env.insert("MASTER_PORT", QString::number(port));
    return env;
}

// A socket listening on `address`:port 0; its port, and the socket to close.
std::pair<int, int> listening(in_addr_t address)
{
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(address);
    socklen_t len = sizeof a;
    bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
    listen(fd, 4);
    getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
    return {ntohs(a.sin_port), fd};
}

int freePort()
{
    const auto [port, fd] = listening(INADDR_LOOPBACK);
    close(fd);
    return port;
}

// The process ids of `pid`'s children.
std::vector<pid_t> children(qint64 pid)
{
    std::vector<pid_t> out;
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    pid_t c = 0;
    while (in >> c)
        out.push_back(c);
    return out;
}

// Starts `--nproc 2` on a run long enough to be interrupted, waits for its
// first teacher epoch, and does `act` to rank 1; returns the outcome.
Outcome interruptRankOne(const QString &file, const QString &workspace, int signal, QString *runDir)
{
    QProcess p;
    QElapsedTimer t;
    p.start(DISTILLERY_RUNNER, {file, "--workspace", workspace, "--nproc", "2"});
    p.waitForStarted();
    QElapsedTimer wait;
    wait.start();
    bool epoch = false;
    while (!epoch && wait.elapsed() < 120000 && p.state() == QProcess::Running) {
        p.waitForFinished(200);
        for (const auto &run : runFolders(workspace)) {
            std::ifstream in(run / "metrics.jsonl");
            std::string line;
            while (std::getline(in, line))
                epoch = epoch || line.find("\"event\":\"epoch\"") != std::string::npos;
            *runDir = QString::fromStdString(run.string());
        }
    }
    const auto kids = children(p.processId());
    if (!epoch || kids.size() != 1) {
        p.kill();
        p.waitForFinished();
        return {-2, {}, QString("no epoch or not one child (%1)").arg(kids.size()), 0};
    }
    t.start();
    kill(kids[0], signal);
    p.waitForFinished(180000);
    Outcome o{p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
              p.readAllStandardError(), double(t.elapsed()) / 1000.0};
    if (signal == SIGSTOP)
        kill(kids[0], SIGKILL); // rank 0 kills it too; never leave one behind
    return o;
}

// The weights of checkpoints/`stage` (and batch norm's statistics) of two
// runs agree to 1e-5 of each tensor's largest value.
void sameWeights(const fs::path &runA, const fs::path &runB, const char *stage, bool statistics = false)
{
    const auto wa = weights(runA / "checkpoints" / stage);
    const auto wb = weights(runB / "checkpoints" / stage);
    QVERIFY(!wa.empty());
    QCOMPARE(wa.size(), wb.size());
    int runningVariances = 0;
    for (const auto &[name, t] : wa) {
        runningVariances += name.find("running_var") != std::string::npos;
        const auto &u = wb.at(name);
        const double scale = t.abs().max().item<double>();
        const double diff = (t.to(torch::kDouble) - u.to(torch::kDouble)).abs().max().item<double>();
        QVERIFY2(diff <= 1e-5 * std::max(scale, 1e-3),
                 qPrintable(QString("%1 %2: differs by %3 (scale %4)").arg(stage, name.c_str()).arg(diff).arg(scale)));
    }
    QVERIFY2(!statistics || runningVariances > 0, stage);
}

// Asks for T = 1.5 when the distillation stage reports its 20th step: on the
// training thread, so the change is due before step 21 in every run.
struct ChangeAtStepTwenty : RunObserver {
    Engine *engine = nullptr;
    std::string refusal = "never asked";
    std::vector<SettingChange> made;
    void stepReported(const StepMetrics &m) override
    {
        if (m.stage == StageKind::Distillation && m.step == 20)
            refusal = engine->requestSettingChange("temperature", 1.5);
    }
    void settingChanged(const SettingChange &c) override { made.push_back(c); }
};

// Trains `e` in one process and over two (--nproc 2) and compares the
// teacher's and distilled student's weights (and batch norm's statistics) to
// 1e-5 of each tensor's largest value, and their test accuracies.
void trainsAsOne(const Experiment &e, bool statistics = false)
{
    QTemporaryDir dir;
    const QString file = write(e, dir.filePath("e.json"));
    const QString one = dir.filePath("one"), two = dir.filePath("two");
    const Outcome a = runner({file, "--workspace", one});
    QVERIFY2(a.code == 0, qPrintable(a.err));
    const Outcome b = runner({file, "--workspace", two, "--nproc", "2"});
    QVERIFY2(b.code == 0, qPrintable(b.err + b.out));
    const auto runsA = runFolders(one), runsB = runFolders(two);
    QCOMPARE(runsA.size(), std::size_t(1));
    QCOMPARE(runsB.size(), std::size_t(1)); // rank 1 wrote no folder of its own
    QCOMPARE(summary(runsB[0]).value("processes", 0), 2);
    for (const char *stage : {"teacher.pt", "student.pt"}) {
        sameWeights(runsA[0], runsB[0], stage, statistics);
        if (QTest::currentTestFailed())
            return;
    }
    const auto sa = summary(runsA[0]), sb = summary(runsB[0]);
    QCOMPARE(sa["stages"].size(), std::size_t(2));
    for (const auto &[stage, s] : sa["stages"].items()) {
        const double accA = s["test_accuracy"], accB = sb["stages"][stage]["test_accuracy"];
        QVERIFY2(std::abs(accA - accB) <= 1.0 / 1000 + 1e-12, qPrintable(QString("%1 vs %2").arg(accA).arg(accB)));
    }
}

} // namespace

class TestDataParallel : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void environmentNamesTheJob()
    {
        auto s = processGroupFromEnvironment({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "10.0.0.2"},
                                              {"MASTER_PORT", "29600"}, {"LOCAL_WORLD_SIZE", "2"}});
        QCOMPARE(s.rank, 1);
        QCOMPARE(s.worldSize, 4);
        QCOMPARE(s.localWorldSize, 2);
        QCOMPARE(s.masterAddr, std::string("10.0.0.2"));
        QCOMPARE(s.masterPort, 29600);
        s = processGroupFromEnvironment({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "1"}, {"SLURM_LOCALID", "1"},
                                         {"SLURM_STEP_NODELIST", "gpu[07-09],cpu1"}, {"SLURM_JOB_ID", "41"},
                                         {"SLURM_STEP_TASKS_PER_NODE", "2"}});
        QCOMPARE(s.rank, 1);
        QCOMPARE(s.worldSize, 2);
        QCOMPARE(s.localWorldSize, 2);
        QCOMPARE(s.masterAddr, std::string("gpu07"));
        QCOMPARE(s.masterPort, 29541);
        // A batch script alone (no job step) is one process.
        QVERIFY(!processGroupFromEnvironment({{"SLURM_NTASKS", "2"}, {"SLURM_PROCID", "0"}, {"PATH", "/bin"}}).active());
        QCOMPARE(firstSlurmHost("node1"), std::string("node1"));
        QCOMPARE(firstSlurmHost("a[3,5-6]"), std::string("a3"));
        try {
            processGroupFromEnvironment({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}});
            QFAIL("a rank beyond the world was accepted");
        } catch (const ConfigError &e) {
            QVERIFY2(std::string(e.what()).find("RANK=2") != std::string::npos, e.what());
        }
        try {
            processGroupFromEnvironment({{"RANK", "0"}, {"WORLD_SIZE", "2"}});
            QFAIL("no MASTER_ADDR was accepted");
        } catch (const ConfigError &e) {
            QVERIFY2(std::string(e.what()).find("MASTER_ADDR") != std::string::npos, e.what());
        }
    }

    // The exactness check: 2 processes × 64 rows per step give the
    // same weights after 50 steps as 1 × 128, for the teacher (Adam) and the
    // distilled student (SGD), and the same test accuracies.
    void twoProcessesTrainAsOne() { trainsAsOne(fiftySteps()); }

    // With synchronised batch norm the same holds for models with batch
    // norm (running statistics included): fully connected ones with
    // BatchNorm1d over 50 steps, and a convolutional teacher (BatchNorm2d, a
    // residual block) over 2 steps. Longer, that one drifts apart by
    // rounding alone: after 50 steps its weights differ by 3e-3 between 1 and
    // 2 threads of one process, and 0.7 between 2 processes without
    // synchronisation.
    // A setting changed while a run over two processes trains (from rank 0,
    // whose window asks): every process makes it before the same step, so the
    // run equals one process given the same change at the same step, and
    // differs from one without it.
    void settingChangeReachesEveryProcess()
    {
        QTemporaryDir dir;
        Experiment e = fiftySteps();
        e.distillation.temperature = 4.0;
        std::vector<fs::path> runs;
        for (int processes : {1, 2}) {
            Experiment x = e;
            x.distributed.processes = processes;
            EngineOptions o;
            o.workspace = dir.filePath(QString::number(processes)).toStdString();
            o.runner = DISTILLERY_RUNNER;
            Engine engine(x, o);
            ChangeAtStepTwenty observer;
            observer.engine = &engine;
            const RunResult r = engine.run(observer);
            QVERIFY2(r.status == RunStatus::Finished, r.message.c_str());
            QVERIFY2(observer.refusal.empty(), observer.refusal.c_str());
            QCOMPARE(observer.made.size(), std::size_t(1));
            QCOMPARE(observer.made[0].step, std::int64_t(20));
            runs.push_back(r.runDir);
        }
        sameWeights(runs[0], runs[1], "student.pt");
        if (QTest::currentTestFailed())
            return;
        // The change matters: without it the student ends elsewhere.
        const Outcome unchanged = runner({write(e, dir.filePath("e.json")), "--workspace", dir.filePath("none")});
        QVERIFY2(unchanged.code == 0, qPrintable(unchanged.err));
        const auto a = weights(runs[0] / "checkpoints" / "student.pt");
        const auto b = weights(runFolders(dir.filePath("none"))[0] / "checkpoints" / "student.pt");
        double largest = 0;
        for (const auto &[name, t] : a)
            largest = std::max(largest, (t - b.at(name)).abs().max().item<double>());
        QVERIFY2(largest > 1e-3, qPrintable(QString::number(largest)));
    }

    void syncBatchNormTrainsAsOne()
    {
        using testutil::layer;
        Experiment e = fiftySteps();
        e.distributed.syncBatchNorm = true;
        // A bias before batch norm would only learn rounding noise.
        auto noBias = [](LayerSpec l) {
            l.bias = false;
            return l;
        };
        e.teacher.model.preset.clear();
        e.teacher.model.layers = {layer("flatten"), noBias(layer("linear", 32)), layer("batchnorm"), layer("relu"),
                                  noBias(layer("linear", 32)), layer("batchnorm"), layer("relu"), layer("linear", 4)};
        e.student.preset.clear();
        e.student.layers = {layer("flatten"), noBias(layer("linear", 16)), layer("batchnorm"), layer("relu"),
                            layer("linear", 4)};
        trainsAsOne(e, true);
        if (QTest::currentTestFailed())
            return;

        e.data.source = "synthetic-images";
        e.data.syntheticTrain = 256;
        e.teacher.model.layers = {noBias(layer("conv2d", 8, 3, 1)), layer("batchnorm"), layer("relu"),
                                  layer("residual", 8, 0, 1), layer("global-avgpool"), layer("flatten"),
                                  layer("linear", 4)};
        e.teacher.train.optimizer = "sgd";
        trainsAsOne(e, true);
    }

    // A rank killed with SIGKILL ends the run on rank 0 with the rank named;
    // the folder stays resumable, refuses another number of processes, and
    // --resume trains it to the end.
    void killedRankEndsTheRunAndItResumes()
    {
        QTemporaryDir dir;
        Experiment e = fiftySteps();
        e.teacher.train.epochs = 3;
        e.studentTrain.epochs = 2;
        e.distributed.timeoutSeconds = 20;
        const QString file = write(e, dir.filePath("e.json")), ws = dir.filePath("ws");
        QString run;
        const Outcome o = interruptRankOne(file, ws, SIGKILL, &run);
        QVERIFY2(o.code == 1, qPrintable(QString::number(o.code) + o.err + o.out));
        QVERIFY2(o.seconds < 20, qPrintable(QString::number(o.seconds)));
        QVERIFY2(o.out.contains("rank 1") || o.err.contains("rank 1"), qPrintable(o.err + o.out));
        QVERIFY2((o.out + o.err).contains("signal 9"), qPrintable(o.err + o.out));
        QCOMPARE(summary(run.toStdString()).value("status", ""), std::string("failed"));

        const Outcome other = runner({"--resume", run}, rankEnvironment(0, 3, freePort()));
        QCOMPARE(other.code, 2);
        QVERIFY2(other.err.contains("trained over 2 processes"), qPrintable(other.err));

        const Outcome resumed = runner({"--resume", run});
        QVERIFY2(resumed.code == 0, qPrintable(resumed.err + resumed.out));
        QCOMPARE(summary(run.toStdString()).value("status", ""), std::string("finished"));
        QCOMPARE(runFolders(ws).size(), std::size_t(1));
    }

    // A rank that hangs (SIGSTOP) ends the run within the timeout, named.
    void hungRankEndsTheRunWithinTheTimeout()
    {
        QTemporaryDir dir;
        Experiment e = fiftySteps();
        e.teacher.train.epochs = 4;
        e.distributed.timeoutSeconds = 4;
        const QString file = write(e, dir.filePath("e.json")), ws = dir.filePath("ws");
        QString run;
        const Outcome o = interruptRankOne(file, ws, SIGSTOP, &run);
        QVERIFY2(o.code == 1, qPrintable(QString::number(o.code) + o.err + o.out));
        QVERIFY2(o.seconds < 4 + 3 + 10, qPrintable(QString::number(o.seconds)));
        QVERIFY2((o.out + o.err).contains("rank 1 stopped responding"), qPrintable(o.err + o.out));
        QCOMPARE(summary(run.toStdString()).value("status", ""), std::string("failed"));
    }

    // Ranks given different experiments stop before any folder, naming the setting.
    void differentExperimentsAreRefused()
    {
        QTemporaryDir dir;
        const QString file = write(fiftySteps(), dir.filePath("e.json")), ws = dir.filePath("ws");
        const int port = freePort();
        QProcess zero;
        zero.setProcessEnvironment(rankEnvironment(0, 2, port));
        zero.start(DISTILLERY_RUNNER, {file, "--workspace", ws});
        const Outcome one = runner({file, "--workspace", ws, "--set", "distillation.temperature=7"},
                                   rankEnvironment(1, 2, port));
        zero.waitForFinished(60000);
        const QString err0 = zero.readAllStandardError();
        QCOMPARE(zero.exitCode(), 2);
        QCOMPARE(one.code, 2);
        QVERIFY2(err0.contains("distillation.temperature is 7"), qPrintable(err0));
        QVERIFY2(one.err.contains("distillation.temperature"), qPrintable(one.err));
        QVERIFY(runFolders(ws).empty());
    }

    void busyPortAndAbsentMasterAreClearErrors()
    {
        QTemporaryDir dir;
        Experiment e = fiftySteps();
        e.distributed.timeoutSeconds = 2;
        const QString file = write(e, dir.filePath("e.json")), ws = dir.filePath("ws");
        const auto [busy, fd] = listening(INADDR_ANY);
        const Outcome inUse = runner({file, "--workspace", ws}, rankEnvironment(0, 2, busy));
        close(fd);
        QCOMPARE(inUse.code, 2);
        QVERIFY2(inUse.err.contains("in use"), qPrintable(inUse.err));
        const Outcome absent = runner({file, "--workspace", ws}, rankEnvironment(1, 2, freePort()));
        QCOMPARE(absent.code, 2);
        QVERIFY2(absent.err.contains("cannot reach rank 0's store at 127.0.0.1"), qPrintable(absent.err));
        QVERIFY(runFolders(ws).empty());
        // More processes than rows in a batch: refused by validation.
        const Outcome many = runner({file, "--workspace", ws, "--nproc", "200"});
        QCOMPARE(many.code, 2);
        QVERIFY2(many.err.contains("distributed.processes"), qPrintable(many.err));
    }
};

QTEST_GUILESS_MAIN(TestDataParallel)
#include "tst_data_parallel.moc"
