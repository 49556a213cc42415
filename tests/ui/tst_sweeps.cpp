// Sweeps in the window: the sweep dialog's count and errors, a real small
// sweep run by the SweepController (runSweepLocally and the build's
// distillery-run), its heatmap checked against the run folders' summary.json,
// a click on a cell selecting its runs, a damaged sweep.json, and a sweep
// submitted to Slurm from the dialog through a fake sbatch on PATH.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "mainwindow.h"
#include "runspanel.h"
#include "slurmoptionsbox.h"
#include "slurmsubmitter.h"
#include "sweepcontroller.h"
#include "sweepdialog.h"
#include "sweepheatmap.h"
#include "sweepparallel.h"
#include "sweepview.h"
#include "testutil.h"

#include "distillery/sweep.h"

#include <QComboBox>
#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QApplication>
#include <QLabel>
#include <QMessageBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QStatusBar>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest/QtTest>

#include <qcustomplot.h>

#include <cmath>
#include <functional>
#include <memory>

using namespace distillery;

namespace {

const QString kT = QStringLiteral("distillation.temperature");
const QString kAlpha = QStringLiteral("distillation.alpha");

Experiment sweptExperiment()
{
    Experiment e = testutil::syntheticExperiment();
    e.name = "sw";
    e.data.syntheticTrain = 400;
    e.data.syntheticTest = 200;
    e.teacher.model.hidden = {32};
    e.teacher.train.epochs = 2;
    e.studentTrain.epochs = 2;
    e.sweep.grid = {{kT.toStdString(), {"2", "4"}}, {kAlpha.toStdString(), {"0.5", "0.9"}}};
    e.sweep.seeds = {1, 2};
    return e;
}

// A point's run as its folder says: its settings (config.json's sweep_point)
// and its students' test accuracies (summary.json).
struct FolderRun {
    QString dir;
    QJsonObject settings;
    double student = NAN, baseline = NAN;
};

QList<FolderRun> readFolders(const QString &workspace)
{
    QList<FolderRun> runs;
    const QDir dir(workspace + QStringLiteral("/runs"));
    for (const QString &name : dir.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        FolderRun r;
        r.dir = dir.filePath(name);
        const QJsonObject config = QJsonDocument::fromJson(testutil::readFile(r.dir + QStringLiteral("/config.json"))).object();
        r.settings = config[QStringLiteral("sweep_point")].toObject()[QStringLiteral("settings")].toObject();
        const QJsonObject stages =
            QJsonDocument::fromJson(testutil::readFile(r.dir + QStringLiteral("/summary.json"))).object()[QStringLiteral("stages")].toObject();
        r.student = stages[QStringLiteral("student")].toObject()[QStringLiteral("test_accuracy")].toDouble(NAN);
        r.baseline = stages[QStringLiteral("baseline")].toObject()[QStringLiteral("test_accuracy")].toDouble(NAN);
        runs << r;
    }
    return runs;
}

// A fake sbatch in `dir`/bin, as tests/sweeps/tst_slurm_backend.cpp makes
// them: it records its arguments in `dir`/calls.log and, taking 0.3 s, prints
// the ids 100, 101, ...; or it prints `failure` on its standard error and fails.
QString fakeSbatch(const QString &dir, const QString &failure = {})
{
    const QString bin = dir + QStringLiteral("/bin");
    QDir().mkpath(bin);
    const QString log = dir + QStringLiteral("/calls.log");
    QString body = QStringLiteral("#!/bin/bash\necho \"sbatch $*\" >> '%1'\n").arg(log);
    body += failure.isEmpty()
        ? QStringLiteral("sleep 0.3\nn=$(grep -c '^sbatch' '%1')\necho \"$((99 + n));cluster\"\n").arg(log)
        : QStringLiteral("echo '%1' >&2\nexit 1\n").arg(failure);
    testutil::writeFile(bin + QStringLiteral("/sbatch"), body.toUtf8());
    QFile::setPermissions(bin + QStringLiteral("/sbatch"), QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
    return bin;
}

// `dir` first on PATH while it lives.
struct PathFirst {
    const QByteArray old = qgetenv("PATH");
    explicit PathFirst(const QString &dir) { qputenv("PATH", dir.toLocal8Bit() + ':' + old); }
    ~PathFirst() { qputenv("PATH", old); }
};

// Answers the sweep dialog the window is about to open: `fill` sets it, then Start is clicked.
void answerSweepDialog(const std::function<void(SweepDialog *)> &fill, bool *answered)
{
    auto *poll = new QTimer;
    QObject::connect(poll, &QTimer::timeout, poll, [poll, fill, answered] {
        auto *d = qobject_cast<SweepDialog *>(QApplication::activeModalWidget());
        if (!d)
            return;
        poll->deleteLater();
        poll->stop();
        fill(d);
        d->updateSummary();
        *answered = d->startButton()->isEnabled();
        if (*answered)
            d->startButton()->click();
        else
            d->reject(); // its problem: d->problem()
    });
    poll->start(20);
}

// The window of an experiment that sweeps 8 points, shown, its runner the build's distillery-run.
std::unique_ptr<MainWindow> sweepWindow(const QString &workspace)
{
    const QString file = workspace + QStringLiteral("/sw.json");
    saveExperiment(sweptExperiment(), file.toStdString());
    auto w = std::make_unique<MainWindow>(workspace, file);
    w->setConfirmClose(false);
    w->sweepController()->setRunner(QStringLiteral(DISTILLERY_RUNNER));
    w->resize(1400, 900);
    w->show();
    return w;
}

// Mean and sample standard deviation.
std::pair<double, double> meanStd(const QList<double> &v)
{
    double sum = 0;
    for (double x : v)
        sum += x;
    const double mean = sum / v.size();
    double sq = 0;
    for (double x : v)
        sq += (x - mean) * (x - mean);
    return {mean, v.size() > 1 ? std::sqrt(sq / (v.size() - 1)) : NAN};
}

} // namespace

class TestSweeps : public QObject {
    Q_OBJECT

    QTemporaryDir ws_;
    QString sweepDir_;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        QVERIFY(ws_.isValid());
        // The sweep runs on the controller's worker thread; the GUI thread's
        // event loop keeps turning meanwhile.
        SweepController c;
        c.setRunner(QStringLiteral(DISTILLERY_RUNNER));
        QSignalSpy points(&c, &SweepController::pointChanged);
        QSignalSpy finished(&c, &SweepController::finished);
        int ticks = 0;
        QTimer tick;
        connect(&tick, &QTimer::timeout, this, [&ticks] { ++ticks; });
        tick.start(50);
        // The tab follows the sweep as the window connects it: its cells fill in.
        SweepView view;
        view.setWorkspace(ws_.path());
        QVERIFY(!view.showsPlot());
        std::vector<int> finishedSeen;
        connect(&c, &SweepController::started, &view, [&view](const QString &dir) { view.reloadSweeps(dir); });
        connect(&c, &SweepController::pointChanged, &view, [&view, &finishedSeen] {
            view.refresh();
            finishedSeen.push_back(int(std::count_if(view.results().begin(), view.results().end(),
                                                     [](const SweepPointResult &r) { return r.finished; })));
        });
        QElapsedTimer clock;
        clock.start();
        QString error;
        QVERIFY2(c.start(sweptExperiment(), ws_.path(), 2, false, &error), qPrintable(error));
        QVERIFY(c.isRunning());
        QVERIFY(finished.wait(120000));
        const double seconds = clock.elapsed() / 1000.0;
        qInfo("the sweep of 8 points took %.1f s; the GUI thread's 50 ms timer ticked %d times", seconds, ticks);
        QVERIFY(ticks > seconds * 4); // a fifth of its ticks at least, on a loaded machine: never blocked long
        QCOMPARE(finished.first().at(0).toInt(), 8);
        QCOMPARE(finished.first().at(1).toInt(), 0);
        int finishedPoints = 0;
        for (const auto &args : std::as_const(points))
            finishedPoints += args.at(1).toInt() == int(PointState::Finished);
        QCOMPARE(finishedPoints, 8);
        QVERIFY(!c.isRunning());
        QVERIFY(std::is_sorted(finishedSeen.begin(), finishedSeen.end()));
        QCOMPARE(finishedSeen.back(), 8);
        QVERIFY(std::any_of(finishedSeen.begin(), finishedSeen.end(), [](int n) { return n > 0 && n < 8; }));
        QVERIFY(view.showsPlot());
        QVERIFY2(view.note().startsWith(QStringLiteral("8 of 8 points finished")), qPrintable(view.note()));
        sweepDir_ = c.sweepDir();
        QVERIFY(QFileInfo::exists(sweepDir_ + QStringLiteral("/sweep.json")));
    }

    void dialogCountsRunsAndNamesErrors()
    {
        SweepDialog d(sweptExperiment(), ws_.path());
        d.clearGrid();
        d.addGridRow(kT, QStringLiteral("2, 4, 8"));
        d.addGridRow(kAlpha, QStringLiteral("0.5, 0.9"));
        d.seedsEdit()->setText(QStringLiteral("1, 2, 3"));
        d.updateSummary();
        QVERIFY2(d.problem().isEmpty(), qPrintable(d.problem()));
        QCOMPARE(d.pointCount(), 18);
        QVERIFY(d.startButton()->isEnabled());
        QVERIFY2(d.summaryLabel()->text().contains(QStringLiteral("18 runs")), qPrintable(d.summaryLabel()->text()));
        // One teacher for all, one baseline per seed.
        QVERIFY(d.summaryLabel()->text().contains(QStringLiteral("teachers trained: 1")));
        QVERIFY(d.summaryLabel()->text().contains(QStringLiteral("baselines trained: 3")));
        // The workspace has finished runs: an estimate from the newest.
        QVERIFY2(d.estimateLabel()->text().startsWith(QStringLiteral("Takes about")), qPrintable(d.estimateLabel()->text()));
        // ... and what each point of the workspace's sweep took beyond its stages (process, data, analysis).
        QVERIFY(newestStageSeconds(ws_.path()).perRun > 0);
        QVERIFY(d.estimateLabel()->text().contains(QStringLiteral("more per run measured on the last sweep")));
        const Experiment e = d.experiment();
        QCOMPARE(e.sweep.seeds, (std::vector<std::uint64_t>{1, 2, 3}));
        QCOMPARE(sweepPointCount(e.sweep), 18);

        // An unknown key: planSweep's message, Start disabled.
        d.addGridRow(QStringLiteral("distillation.temperture"), QStringLiteral("2"));
        d.updateSummary();
        QVERIFY2(d.errorLabel()->text().contains(QStringLiteral("temperture")), qPrintable(d.errorLabel()->text()));
        QVERIFY(!d.errorLabel()->isHidden());
        QVERIFY(!d.startButton()->isEnabled());

        // A value out of range, and an empty value.
        d.clearGrid();
        d.addGridRow(kAlpha, QStringLiteral("0.5, 2"));
        d.updateSummary();
        QVERIFY2(d.errorLabel()->text().contains(QStringLiteral("alpha")), qPrintable(d.errorLabel()->text()));
        QVERIFY(!d.startButton()->isEnabled());
        d.clearGrid();
        d.addGridRow(kT, QStringLiteral("2,,4"));
        d.updateSummary();
        QVERIFY(d.errorLabel()->text().contains(QStringLiteral("empty value")));
        // Seeds that are not numbers.
        d.clearGrid();
        d.addGridRow(kT, QStringLiteral("2, 4"));
        d.seedsEdit()->setText(QStringLiteral("1, two"));
        d.updateSummary();
        QVERIFY(d.errorLabel()->text().contains(QStringLiteral("two")));
        d.seedsEdit()->setText(QStringLiteral("1 2"));
        d.updateSummary();
        QCOMPARE(d.pointCount(), 4);
        QVERIFY(d.startButton()->isEnabled());
    }

    // Random draws: count × seeds points, each drawn within its range; a log range needs min > 0.
    void dialogRandomSearch()
    {
        SweepDialog d(sweptExperiment(), ws_.path());
        d.clearGrid();
        d.addRangeRow(QStringLiteral("student.train.lr"), QStringLiteral("0.01"), QStringLiteral("0.1"), true);
        d.setRandomCount(5);
        d.seedsEdit()->setText(QStringLiteral("1, 2"));
        d.updateSummary();
        QVERIFY2(d.problem().isEmpty(), qPrintable(d.problem()));
        QCOMPARE(d.pointCount(), 10);
        const SweepPlan plan = planSweep(d.experiment());
        QCOMPARE(int(plan.points.size()), 10);
        for (const SweepPoint &p : plan.points) {
            const double lr = sweepSetting(p, QStringLiteral("student.train.lr")).toDouble();
            QVERIFY(lr >= 0.01 && lr <= 0.1);
        }
        d.addRangeRow(QStringLiteral("student.train.weight_decay"), QStringLiteral("0"), QStringLiteral("0.01"), true);
        d.updateSummary();
        QVERIFY2(d.errorLabel()->text().contains(QStringLiteral("weight_decay")), qPrintable(d.errorLabel()->text()));
        QVERIFY(!d.startButton()->isEnabled());
    }

    // More than kLargeSweep runs: the dialog asks before it accepts.
    void dialogAsksBeforeALargeSweep()
    {
        QStringList t, a;
        for (int i = 1; i <= 101; ++i) {
            t << QString::number(i);
            a << QString::number(i / 101.0, 'f', 4);
        }
        SweepDialog d(sweptExperiment(), ws_.path());
        d.clearGrid();
        d.addGridRow(kT, t.join(QStringLiteral(", ")));
        d.addGridRow(kAlpha, a.join(QStringLiteral(", ")));
        d.seedsEdit()->clear();
        d.updateSummary();
        QCOMPARE(d.pointCount(), kLargeSweep + 1); // saturated: 10,201
        QVERIFY(d.startButton()->isEnabled());
        QVERIFY2(d.summaryLabel()->text().contains(QStringLiteral("More than 10,000 runs")), qPrintable(d.summaryLabel()->text()));
        const auto answer = [](QMessageBox::StandardButton button) {
            QTimer::singleShot(200, [button] {
                if (auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget()))
                    box->button(button)->click();
            });
        };
        answer(QMessageBox::Cancel);
        d.startButton()->click();
        QCOMPARE(d.result(), int(QDialog::Rejected));
        QVERIFY(!d.allowLarge());
        answer(QMessageBox::Yes);
        d.startButton()->click();
        QCOMPARE(d.result(), int(QDialog::Accepted));
        QVERIFY(d.allowLarge());
    }

    void dialogWithoutFinishedRunsHasNoEstimate()
    {
        QTemporaryDir empty;
        SweepDialog d(sweptExperiment(), empty.path());
        QVERIFY(d.estimateLabel()->text().contains(QStringLiteral("No estimate")));
        QVERIFY(d.startButton()->isEnabled());
        QCOMPARE(d.pointCount(), 8); // the experiment's own sweep, filled in
    }

    void heatmapCellsAreTheRunFoldersMeans()
    {
        SweepView v;
        v.setWorkspace(ws_.path());
        QVERIFY2(v.showsPlot(), qPrintable(v.message()));
        QCOMPARE(v.sweepDir(), sweepDir_);
        const QList<FolderRun> runs = readFolders(ws_.path());
        QCOMPARE(runs.size(), 8);
        for (const SweepMeasure m : {SweepMeasure::StudentAccuracy, SweepMeasure::GainOverBaseline}) {
            v.setMeasure(m);
            v.setAxes(kT, kAlpha);
            const SweepGrid &g = v.grid();
            QCOMPARE(g.xValues, (QStringList{QStringLiteral("2"), QStringLiteral("4")}));
            QCOMPARE(g.yValues, (QStringList{QStringLiteral("0.5"), QStringLiteral("0.9")}));
            double bestMean = -INFINITY;
            for (int x = 0; x < 2; ++x)
                for (int y = 0; y < 2; ++y) {
                    QList<double> values;
                    for (const FolderRun &r : runs)
                        if (r.settings[kT].toDouble() == g.xValues[x].toDouble() &&
                            r.settings[kAlpha].toDouble() == g.yValues[y].toDouble())
                            values << (m == SweepMeasure::StudentAccuracy ? r.student : r.student - r.baseline);
                    QCOMPARE(values.size(), 2); // the two seeds
                    const auto [mean, sd] = meanStd(values);
                    QVERIFY(qAbs(g.cell(x, y).mean - mean) < 1e-12);
                    QVERIFY(qAbs(g.cell(x, y).stddev - sd) < 1e-12);
                    QVERIFY(qAbs(v.heatmap()->map()->data()->cell(x, y) - 100 * mean) < 1e-9);
                    bestMean = std::max(bestMean, mean);
                }
            QVERIFY(g.best >= 0);
            QCOMPARE(g.cells[std::size_t(g.best)].mean, bestMean);
            QVERIFY(v.heatmap()->bestOutline()->visible());
        }
        // The standard deviation as the map.
        v.setMeasure(SweepMeasure::StudentAccuracy);
        v.setShowStdDev(true);
        QVERIFY(qAbs(v.heatmap()->map()->data()->cell(0, 0) - 100 * v.grid().cell(0, 0).stddev) < 1e-9);
        QVERIFY(v.cellToolTip(0, 0).contains(QStringLiteral("standard deviation")));
        // One axis: each cell averages its value's four points (two α × two seeds).
        v.setAxes(kT, QString());
        QCOMPARE(v.grid().rows(), 1);
        QCOMPARE(int(v.grid().cell(1, 0).points.size()), 4);
        QList<double> t4;
        for (const FolderRun &r : runs)
            if (r.settings[kT].toDouble() == 4)
                t4 << r.student;
        QVERIFY(qAbs(v.grid().cell(1, 0).mean - meanStd(t4).first) < 1e-12);
        // Unchanged folders are not read again.
        const int reads = v.cache().folderReads();
        v.refresh();
        QCOMPARE(v.cache().folderReads(), reads);
    }

    // Parallel coordinates: an axis per setting and the accuracy; dragging a
    // range on the temperature's axis keeps the points with that temperature.
    void parallelCoordinatesBrush()
    {
        SweepView v;
        v.resize(900, 500);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setWorkspace(ws_.path());
        v.showParallel(true);
        SweepParallel *p = v.parallel();
        QCOMPARE(p->axisCount(), 3);
        QCOMPARE(p->axisName(2), QStringLiteral("test accuracy (%)"));
        QCOMPARE(int(p->drawnPoints().size()), 8);
        int t = 0;
        while (t < p->axisCount() && p->axisName(t) != kT)
            ++t;
        QVERIFY(t < 2);
        p->plot()->replot();
        QTest::mousePress(p->plot(), Qt::LeftButton, {}, p->pixelOf(t, 0.8).toPoint());
        QTest::mouseRelease(p->plot(), Qt::LeftButton, {}, p->pixelOf(t, 1.0).toPoint());
        const SweepPlan &plan = openSweepFolder(sweepDir_.toStdString()).plan;
        std::vector<int> expected;
        for (const SweepPoint &pt : plan.points)
            if (sweepSetting(pt, kT) == QStringLiteral("4"))
                expected.push_back(pt.index);
        QCOMPARE(p->keptPoints(), expected);
        // The accuracy's top half: the points whose accuracy is in it.
        p->clearBrush(t);
        p->setBrush(2, 0.5, 1.0);
        const std::vector<int> top = p->keptPoints();
        QVERIFY(!top.empty());
        for (int point : p->drawnPoints()) {
            const bool kept = std::count(top.begin(), top.end(), point) > 0;
            QCOMPARE(kept, p->position(point, 2) >= 0.5);
        }
        // A click on the axis clears its brush.
        QTest::mouseClick(p->plot(), Qt::LeftButton, {}, p->pixelOf(2, 0.3).toPoint());
        QCOMPARE(p->keptPoints().size(), p->drawnPoints().size());
    }

    void bestPointOpensAsExperiment()
    {
        SweepView v;
        v.setWorkspace(ws_.path());
        v.setAxes(kT, kAlpha);
        QSignalSpy opened(&v, &SweepView::experimentOpened);
        QVERIFY(v.openButton()->isEnabled());
        v.openButton()->click();
        QCOMPARE(opened.count(), 1);
        const auto e = qvariant_cast<Experiment>(opened.first().first());
        const SweepGrid &g = v.grid();
        const int bx = g.best % g.columns(), by = g.best / g.columns();
        QCOMPARE(e.distillation.temperature, g.xValues[bx].toDouble());
        QCOMPARE(e.distillation.alpha, g.yValues[by].toDouble());
        QVERIFY(!e.sweep.active());
        QCOMPARE(e.sweepPoint.point, -1);
        QCOMPARE(e.teacher.source, std::string("train"));
    }

    void clickingACellSelectsItsRuns()
    {
        // The experiment of the sweep, which the window can start (the default one's data is not here).
        const QString file = ws_.path() + QStringLiteral("/sw.json");
        saveExperiment(sweptExperiment(), file.toStdString());
        MainWindow w(ws_.path(), file);
        w.setConfirmClose(false);
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.showSweeps();
        QCOMPARE(w.centralTabs()->currentWidget(), static_cast<QWidget *>(w.sweepView()));
        SweepView *v = w.sweepView();
        v->setAxes(kT, kAlpha);
        v->plot()->replot(); // lays the axes out for coordToPixel
        QTest::mouseClick(v->plot(), Qt::LeftButton, {}, v->heatmap()->cellCentre(1, 0).toPoint());
        QStringList selected = w.runsPanel()->selectedRuns();
        QStringList expected = v->cellRuns(1, 0);
        QCOMPARE(expected.size(), 2);
        selected.sort();
        expected.sort();
        QCOMPARE(selected, expected);
        for (const FolderRun &r : readFolders(ws_.path()))
            if (selected.contains(r.dir)) {
                QCOMPARE(r.settings[kT].toDouble(), 4.0);
                QCOMPARE(r.settings[kAlpha].toDouble(), 0.5);
            }
        QVERIFY(w.sweepAction()->isEnabled());
        QVERIFY(!w.stopSweepAction()->isEnabled());
    }

    // Stop reaches the running points; a runner that is not there is said before anything starts.
    void controllerStopsAndNamesAMissingRunner()
    {
        QTemporaryDir ws;
        SweepController c;
        c.setRunner(QStringLiteral("/nowhere/distillery-run"));
        QString error;
        QVERIFY(!c.start(sweptExperiment(), ws.path(), 2, false, &error));
        QVERIFY2(error.contains(QStringLiteral("/nowhere/distillery-run")), qPrintable(error));
        QVERIFY(!QDir(ws.path() + QStringLiteral("/sweeps")).exists());

        c.setRunner(QStringLiteral(DISTILLERY_RUNNER));
        QSignalSpy points(&c, &SweepController::pointChanged);
        QSignalSpy finished(&c, &SweepController::finished);
        QVERIFY2(c.start(sweptExperiment(), ws.path(), 2, false, &error), qPrintable(error));
        QVERIFY(points.wait(30000)); // the first point has started
        c.stop();
        QVERIFY(finished.wait(60000));
        QVERIFY(finished.first().at(3).toBool()); // stopped
        QVERIFY(finished.first().at(0).toInt() < 8);
        QVERIFY(!c.isRunning());

        // The tab offers to resume it; resuming finishes the rest, the finished points kept.
        SweepView v;
        v.setWorkspace(ws.path());
        QVERIFY(v.resumeButton()->isEnabled());
        connect(&v, &SweepView::resumeRequested, &c, [&c](const QString &dir) { QVERIFY(c.resume(dir, 2)); });
        finished.clear();
        v.resumeButton()->click();
        QVERIFY(c.isRunning());
        QVERIFY(finished.wait(120000));
        QVERIFY(!finished.first().at(3).toBool());
        v.refresh();
        QVERIFY2(v.note().startsWith(QStringLiteral("8 of 8 points finished")), qPrintable(v.note()));
        QVERIFY(!v.resumeButton()->isEnabled());
    }

    // Run on: Slurm cluster, its options checked as typed and read back.
    void dialogSlurmOptions()
    {
        SweepDialog d(sweptExperiment(), ws_.path());
        SlurmOptionsBox *b = d.slurmBox();
        b->setOnSlurm(false);
        d.updateSummary();
        QVERIFY(b->isHidden());
        QCOMPARE(d.startButton()->text(), QStringLiteral("Start sweep"));
        b->setOnSlurm(true);
        QVERIFY(!b->isHidden());
        b->timeEdit()->setText(QStringLiteral("2 hours"));
        d.updateSummary();
        QVERIFY2(d.errorLabel()->text().contains(QStringLiteral("Time limit")), qPrintable(d.errorLabel()->text()));
        QVERIFY(!d.startButton()->isEnabled());
        b->timeEdit()->setText(QStringLiteral("1-12:00"));
        b->partitionEdit()->setText(QStringLiteral(" gpu "));
        b->gpusBox()->setValue(1);
        b->linesEdit()->setPlainText(QStringLiteral("  --mem=8G \n\nmodule load cuda\n"));
        d.updateSummary();
        QVERIFY2(d.problem().isEmpty(), qPrintable(d.problem()));
        QVERIFY(d.startButton()->isEnabled());
        QCOMPARE(d.startButton()->text(), QStringLiteral("Submit to Slurm"));
        const SlurmOptions o = b->options();
        QCOMPARE(o.partition, std::string("gpu"));
        QCOMPARE(o.timeLimit, std::string("1-12:00"));
        QCOMPARE(o.gpusPerTask, 1);
        QCOMPARE(o.cpusPerTask, 0);
        QCOMPARE(o.extraLines, (std::vector<std::string>{"--mem=8G", "module load cuda"}));
        // A time limit that is wrong does not matter for this machine.
        b->timeEdit()->setText(QStringLiteral("soon"));
        b->setOnSlurm(false);
        d.updateSummary();
        QVERIFY(d.startButton()->isEnabled());
    }

    // The dialog's Slurm choice submits the points as three array jobs through
    // sbatch on a worker thread; the window shows the job ids, and the Sweeps
    // tab follows the points as their run folders appear.
    void dialogSubmitsToSlurm()
    {
        QTemporaryDir ws;
        const PathFirst path(fakeSbatch(ws.path()));
        const auto w = sweepWindow(ws.path());
        QVERIFY(QTest::qWaitForWindowExposed(w.get()));
        bool answered = false;
        answerSweepDialog(
            [](SweepDialog *d) {
                d->slurmBox()->setOnSlurm(true);
                d->slurmBox()->partitionEdit()->setText(QStringLiteral("debug"));
                d->slurmBox()->timeEdit()->setText(QStringLiteral("0:30:00"));
                d->slurmBox()->cpusBox()->setValue(2);
                d->slurmBox()->gpusBox()->setValue(0);
                d->slurmBox()->linesEdit()->setPlainText(QStringLiteral("--mem=1G\nmodule load x"));
            },
            &answered);
        w->openSweepDialog();
        QVERIFY(answered);
        // sbatch takes 0.3 s a job, on the worker: the window is back before it has answered.
        QVERIFY(w->slurmSubmitter()->isSubmitting());
        QVERIFY(!w->sweepAction()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(!w->slurmSubmitter()->isSubmitting(), 20000);
        QVERIFY(w->sweepAction()->isEnabled());
        const QString message = w->statusBar()->currentMessage();
        for (const char *job : {"teacher job 100 (1 point)", "baselines job 101 (4 points, after 100)",
                                "points job 102 (3 points, after 100, 101)", "squeue -j 100,101,102"})
            QVERIFY2(message.contains(QLatin1String(job)), qPrintable(message));

        const QString dir = w->slurmSubmitter()->sweepDir();
        QVERIFY(QFileInfo::exists(dir + QStringLiteral("/sweep.json")));
        for (const QString name : {QStringLiteral("teacher"), QStringLiteral("baselines"), QStringLiteral("points")}) {
            const QString text = QString::fromUtf8(testutil::readFile(dir + QStringLiteral("/slurm/") + name + QStringLiteral(".sbatch")));
            for (const char *line : {"#SBATCH --partition=debug\n", "#SBATCH --time=0:30:00\n",
                                     "#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=1G\n", "\nmodule load x\n"})
                QVERIFY2(text.contains(QLatin1String(line)), qPrintable(name + QStringLiteral(": ") + text));
            QVERIFY(!text.contains(QStringLiteral("--gpus-per-task")));
            QVERIFY(text.contains(QStringLiteral("exec '%1' --sweep-point '%2'").arg(QStringLiteral(DISTILLERY_RUNNER), dir)));
        }
        const QJsonArray jobs = QJsonDocument::fromJson(testutil::readFile(dir + QStringLiteral("/slurm/jobs.json")))
                                    .object()[QStringLiteral("jobs")].toArray();
        QCOMPARE(jobs.size(), 3);
        QCOMPARE(jobs[0][QStringLiteral("id")].toString(), QStringLiteral("100"));
        QCOMPARE(jobs[2][QStringLiteral("id")].toString(), QStringLiteral("102"));
        QCOMPARE(jobs[1][QStringLiteral("points")].toArray().size(), 4);
        const QStringList calls = QString::fromUtf8(testutil::readFile(ws.path() + QStringLiteral("/calls.log")))
                                      .split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(calls.size(), 3);
        QVERIFY2(calls[1].contains(QStringLiteral("--dependency=afterok:100 ")), qPrintable(calls[1]));
        QVERIFY2(calls[2].contains(QStringLiteral("--dependency=afterok:100:101 ")), qPrintable(calls[2]));

        // The Sweeps tab shows it, and keeps rereading it while its points are unfinished.
        SweepView *v = w->sweepView();
        QCOMPARE(w->centralTabs()->currentWidget(), static_cast<QWidget *>(v));
        QCOMPARE(QDir::cleanPath(v->sweepDir()), QDir::cleanPath(dir));
        QVERIFY2(v->note().startsWith(QStringLiteral("0 of 8 points finished")), qPrintable(v->note()));
        QVERIFY2(v->note().contains(QStringLiteral("jobs 100, 101, 102")), qPrintable(v->note()));
        QVERIFY(v->polling());
        // A job finishes point 0 (here: a finished run's config.json and summary.json in its folder).
        const QString from = readFolders(ws_.path()).first().dir;
        const QString to = QString::fromStdString(openSweepFolder(dir.toStdString()).runDir(0));
        QVERIFY(QDir().mkpath(to));
        for (const QString file : {QStringLiteral("/config.json"), QStringLiteral("/summary.json")})
            QVERIFY(QFile::copy(from + file, to + file));
        QTRY_VERIFY_WITH_TIMEOUT(v->note().startsWith(QStringLiteral("1 of 8 points finished")), 10000);
        QVERIFY(v->polling());
    }

    // sbatch refuses (an unknown partition): its message in a message box, no
    // jobs.json; and no sbatch at all: the core's message for that.
    void slurmFailureIsShown()
    {
        QTemporaryDir ws;
        const PathFirst path(fakeSbatch(
            ws.path(), QStringLiteral("sbatch: error: Batch job submission failed: Invalid partition name specified")));
        const auto w = sweepWindow(ws.path());
        QVERIFY(QTest::qWaitForWindowExposed(w.get()));
        QString shown;
        QTimer boxes;
        connect(&boxes, &QTimer::timeout, this, [&shown] {
            if (auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget())) {
                shown = box->text();
                box->accept();
            }
        });
        boxes.start(50);
        bool answered = false;
        answerSweepDialog(
            [](SweepDialog *d) {
                d->slurmBox()->setOnSlurm(true);
                d->slurmBox()->partitionEdit()->setText(QStringLiteral("nosuch"));
            },
            &answered);
        w->openSweepDialog();
        QVERIFY(answered);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 20000);
        for (const char *part : {"submitting the teacher job", "Invalid partition name specified", "nothing was submitted"})
            QVERIFY2(shown.contains(QLatin1String(part)), qPrintable(shown));
        const QString dir = w->slurmSubmitter()->sweepDir();
        QVERIFY(QFileInfo::exists(dir + QStringLiteral("/sweep.json")));
        QVERIFY(!QFileInfo::exists(dir + QStringLiteral("/slurm/jobs.json")));
        QVERIFY(w->sweepAction()->isEnabled());

        SlurmSubmitter s;
        QSignalSpy failed(&s, &SlurmSubmitter::failed);
        SlurmOptions o;
        o.runner = DISTILLERY_RUNNER;
        o.sbatch = (ws.path() + QStringLiteral("/nowhere/sbatch")).toStdString();
        QString error;
        QVERIFY2(s.submit(sweptExperiment(), ws.path(), false, o, &error), qPrintable(error));
        QVERIFY(failed.wait(20000));
        const QString text = failed.first().at(1).toString();
        QVERIFY2(text.contains(QStringLiteral("sbatch not found")), qPrintable(text));
        QVERIFY(!QFileInfo::exists(s.sweepDir() + QStringLiteral("/slurm/jobs.json")));
    }

    void damagedSweepJsonIsNamed()
    {
        QTemporaryDir ws;
        const QString dir = ws.path() + QStringLiteral("/sweeps/20260101-000000-bad");
        QVERIFY(QDir().mkpath(dir));
        testutil::writeFile(dir + QStringLiteral("/sweep.json"), "{\"version\": 1, \"id\": \"x\", \"points\": [");
        SweepView v;
        v.setWorkspace(ws.path());
        QVERIFY(!v.showsPlot());
        QVERIFY2(v.message().contains(QDir::cleanPath(dir) + QStringLiteral("/sweep.json")), qPrintable(v.message()));
        QVERIFY(!v.openButton()->isEnabled());
        // Valid JSON that is not a sweep: named too.
        testutil::writeFile(dir + QStringLiteral("/sweep.json"), "{\"version\": 1}");
        v.reloadSweeps();
        QVERIFY(v.message().contains(QStringLiteral("sweep.json")));
        QVERIFY(v.grid().cells.empty());
    }
};

QTEST_MAIN(TestSweeps)
#include "tst_sweeps.moc"
