// The workbench as a user drives it, under the offscreen platform.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "experimentpanel.h"
#include "exportdialog.h"
#include "liveplot.h"
#include "mainwindow.h"
#include "modeleditor.h"
#include "runspanel.h"
#include "trainingcontroller.h"
#include "testutil.h"

#include "distillery/engine.h"
#include "distillery/runs.h"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGroupBox>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMessageBox>
#include <QProgressBar>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

using namespace distillery;

namespace {

QJsonObject readJson(const QString &path)
{
    return QJsonDocument::fromJson(testutil::readFile(path)).object();
}

} // namespace

class TestGui : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    // A synthetic experiment file; `teacherEpochs` large makes a run that lasts.
    QString writeExperiment(const QString &name, int teacherEpochs = 1, int studentEpochs = 1)
    {
        Experiment e = testutil::syntheticExperiment();
        e.name = name.toStdString();
        e.teacher.train.epochs = teacherEpochs;
        e.studentTrain.epochs = studentEpochs;
        e.logEverySteps = 2;
        const QString path = dir_.path() + QLatin1Char('/') + name + QStringLiteral(".json");
        distillery::saveExperiment(e, path.toStdString());
        return path;
    }

    std::unique_ptr<MainWindow> openWindow(const QString &experiment, const QString &workspace)
    {
        auto w = std::make_unique<MainWindow>(workspace, experiment);
        w->setConfirmClose(false);
        w->show();
        [&] { QTRY_VERIFY_WITH_TIMEOUT(w->experimentPanel()->dataReady(), 15000); }();
        return w;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true); // settings of the tests go elsewhere
        QSettings().clear();
    }

    void temperatureAndAlphaReachTheSavedFile()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("knobs")), ws.path());
        ExperimentPanel *p = w->experimentPanel();
        // Type T in its spin box; move α with its slider.
        p->temperatureBox()->clear();
        QTest::keyClicks(p->temperatureBox(), QStringLiteral("7.5"));
        QTest::keyClick(p->temperatureBox(), Qt::Key_Enter);
        p->alphaSlider()->setValue(30);
        QCOMPARE(p->alphaBox()->value(), 0.3);
        QVERIFY(p->temperatureSlider()->value() > 50); // the slider followed the box
        const QString out = dir_.path() + QStringLiteral("/saved.json");
        QVERIFY(w->saveExperiment(out));
        const Experiment saved = loadExperiment(out.toStdString());
        QCOMPARE(saved.distillation.temperature, 7.5);
        QCOMPARE(saved.distillation.alpha, 0.3);
        QCOMPARE(saved.name, std::string("knobs"));
        QCOMPARE(saved.data.source, std::string("synthetic-vectors"));
    }

    void openingAFileFillsTheWidgets()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("first")), ws.path());
        Experiment e = testutil::syntheticExperiment();
        e.name = "opened";
        e.distillation.temperature = 12;
        e.distillation.alpha = 0.85;
        e.studentTrain.epochs = 9;
        e.student.hidden = {24, 12};
        e.precision = "bf16";
        const QString path = dir_.path() + QStringLiteral("/opened.json");
        distillery::saveExperiment(e, path.toStdString());
        QVERIFY(w->openExperiment(path));
        ExperimentPanel *p = w->experimentPanel();
        QCOMPARE(p->temperatureBox()->value(), 12.0);
        QCOMPARE(p->alphaBox()->value(), 0.85);
        QCOMPARE(p->experiment().studentTrain.epochs, 9);
        QCOMPARE(p->experiment().student.hidden, (std::vector<std::int64_t>{24, 12}));
        QCOMPARE(p->experiment().name, std::string("opened"));
        QCOMPARE(p->experiment().precision, std::string("bf16"));
        auto *precision = p->findChild<QComboBox *>(QStringLiteral("precision"));
        QVERIFY(precision);
        QCOMPARE(precision->currentData().toString(), QStringLiteral("bf16"));
        precision->setCurrentIndex(precision->findData(QStringLiteral("fp32")));
        QCOMPARE(p->experiment().precision, std::string("fp32"));
        QVERIFY(w->windowTitle().contains(QStringLiteral("opened.json")));

        // A broken file is refused with a message; the widgets keep their values.
        testutil::writeFile(dir_.path() + QStringLiteral("/broken.json"), "{ nope");
        QTimer::singleShot(200, [] {
            if (auto *box = qobject_cast<QMessageBox *>(QApplication::activeModalWidget()))
                box->accept();
        });
        QVERIFY(!w->openExperiment(dir_.path() + QStringLiteral("/broken.json")));
        QCOMPARE(p->temperatureBox()->value(), 12.0);
    }

    void invalidLayerTableDisablesStart()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("layers")), ws.path());
        QVERIFY2(w->startAction()->isEnabled(), qPrintable(w->startBlockedReason()));
        QTableWidget *table = w->experimentPanel()->studentEditor()->table();
        // The last layer gives the class scores: make it give 7 of the 4.
        const int last = table->rowCount() - 1;
        table->item(last, 1)->setText(QStringLiteral("7"));
        QVERIFY(!w->startAction()->isEnabled());
        QVERIFY2(w->startBlockedReason().contains(QStringLiteral("Student")) &&
                     w->startBlockedReason().contains(QStringLiteral("4 classes")),
                 qPrintable(w->startBlockedReason()));
        table->item(last, 1)->setText(QStringLiteral("4"));
        QVERIFY2(w->startAction()->isEnabled(), qPrintable(w->startBlockedReason()));
        // An image model on vector data: refused, naming the layer.
        auto *preset = w->experimentPanel()->studentEditor()->findChild<QComboBox *>();
        preset->setCurrentText(QStringLiteral("lenet5"));
        QVERIFY(!w->startAction()->isEnabled());
        QVERIFY2(w->startBlockedReason().contains(QStringLiteral("Student: layer 1 (conv2d)")),
                 qPrintable(w->startBlockedReason()));
    }

    void shortRunFillsThePlots()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("short"), 2, 2), ws.path());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        QSignalSpy progress(w->progressBar(), &QProgressBar::valueChanged);
        QSignalSpy steps(w->controller(), &TrainingController::stepReported);
        QElapsedTimer clock;
        clock.start();
        w->startAction()->trigger();
        QVERIFY(w->controller()->isRunning());
        QVERIFY(!w->startAction()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->seriesCount() > 0 && w->lossPlot()->pointCount(0) > 0, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        const auto result = finished.first().first().value<RunResult>();
        QCOMPARE(result.status, RunStatus::Finished);
        QVERIFY(progress.size() > 0);
        // The status bar follows the steps at most every 250 ms (plus once at
        // each stage's end), however often they are reported.
        QVERIFY2(progress.size() <= clock.elapsed() / 250 + 2 * 3 + 1,
                 qPrintable(QStringLiteral("%1 progress updates for %2 step reports in %3 ms")
                                .arg(progress.size()).arg(steps.size()).arg(clock.elapsed())));
        // Teacher, baseline, student: loss series (with soft and hard for the student) and accuracy.
        QCOMPARE(w->lossPlot()->seriesCount(), 5);
        QVERIFY(w->accuracyPlot()->pointCount(1) > 0);
        QTRY_VERIFY(!w->controller()->isRunning());
        QVERIFY(w->startAction()->isEnabled());
        // The run appears in the runs panel.
        QTRY_COMPARE(w->runsPanel()->runCount(), 1);
    }

    void pauseResumeStop()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("long"), 500), ws.path());
        QSignalSpy paused(w->controller(), &TrainingController::pausedChanged);
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->seriesCount() > 0 && w->lossPlot()->pointCount(0) > 3, 20000);
        w->pauseAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(paused.size(), 1, 5000);
        QCOMPARE(paused.at(0).at(0).toBool(), true);
        QTest::qWait(200); // let queued points land
        const int frozen = w->lossPlot()->pointCount(0);
        QTest::qWait(400);
        QCOMPARE(w->lossPlot()->pointCount(0), frozen);
        // The runs panel lists the run; its duration is written when it ends.
        QTRY_COMPARE(w->runsPanel()->runCount(), 1);
        const int durationColumn = w->runsPanel()->table()->columnCount() - 1;
        QCOMPARE(w->runsPanel()->table()->horizontalHeaderItem(durationColumn)->text(), QStringLiteral("Duration"));
        QCOMPARE(w->runsPanel()->table()->item(0, durationColumn)->text(), QStringLiteral("–"));
        w->pauseAction()->trigger(); // resume
        QTRY_COMPARE_WITH_TIMEOUT(paused.size(), 2, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->pointCount(0) > frozen, 10000);
        w->stopAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 10000);
        const auto result = finished.first().first().value<RunResult>();
        QCOMPARE(result.status, RunStatus::Stopped);
        QCOMPARE(readJson(QString::fromStdString(result.runDir) + QStringLiteral("/summary.json"))[QStringLiteral("status")].toString(),
                 QStringLiteral("stopped"));
        QTRY_VERIFY(w->runsPanel()->table()->item(0, durationColumn)->text().contains(QLatin1Char(':')));
    }

    void closingMidRunStopsCleanly()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("closing"), 500), ws.path());
        w->startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->seriesCount() > 0 && w->lossPlot()->pointCount(0) > 0, 20000);
        QElapsedTimer t;
        t.start();
        w->close();
        QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 10000);
        QVERIFY(t.elapsed() < 10000);
        QVERIFY(!w->controller()->isRunning());
        const auto runs = listRuns(ws.path().toStdString());
        QCOMPARE(runs.size(), std::size_t(1));
        QCOMPARE(runs[0].status, RunStatus::Stopped);
        QVERIFY(QFile::exists(QString::fromStdString(runs[0].dir) + QStringLiteral("/config.json")));
    }

    void comparingRunsOverlaysTheirCurves()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        for (double t : {2.0, 8.0}) {
            e.distillation.temperature = t;
            testutil::Recorder rec;
            Engine(e, EngineOptions{ws.path().toStdString()}).run(rec);
        }
        auto w = openWindow(writeExperiment(QStringLiteral("compare")), ws.path());
        RunsPanel *runs = w->runsPanel();
        QCOMPARE(runs->runCount(), 2);
        runs->table()->selectAll();
        QCOMPARE(runs->selectedRuns().size(), 2);
        // Per run: teacher, baseline and student curves in each plot.
        QCOMPARE(w->accuracyPlot()->seriesCount(), 6);
        QVERIFY(w->accuracyPlot()->pointCount(0) > 0);
        QCOMPARE(runs->comparison()->columnCount(), 2);
        runs->table()->clearSelection();
        QCOMPARE(w->accuracyPlot()->seriesCount(), 0);
    }

    void teacherPickerImportsTorchScript()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("import")), ws.path());
        ExperimentPanel *panel = w->experimentPanel();
        const QString file = dir_.path() + QStringLiteral("/teacher.pt");
        testutil::writeFile(file, "not really TorchScript; the engine checks that at Start");

        // Dropping a .pt file on the teacher box imports it.
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(file)});
        QDragEnterEvent enter(QPoint(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(panel->teacherBox(), &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(5, 5), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(panel->teacherBox(), &drop);
        Experiment e = panel->experiment();
        QCOMPARE(QString::fromStdString(e.teacher.source), QStringLiteral("torchscript"));
        QCOMPARE(QString::fromStdString(e.teacher.path), file);
        QCOMPARE(panel->teacherLocationEdit()->text(), file);
        QVERIFY(!panel->teacherEditor()->isVisible()); // nothing to design for an imported teacher
        QVERIFY(panel->problem().isEmpty());

        // Other files are not taken.
        QMimeData text;
        text.setUrls({QUrl::fromLocalFile(dir_.path() + QStringLiteral("/notes.txt"))});
        QDragEnterEvent refused(QPoint(5, 5), Qt::CopyAction, &text, Qt::LeftButton, Qt::NoModifier);
        refused.ignore();
        QApplication::sendEvent(panel->teacherBox(), &refused);
        QVERIFY(!refused.isAccepted());

        // Switching sources keeps each one's location; a missing file blocks Start.
        panel->teacherSourceBox()->setCurrentIndex(panel->teacherSourceBox()->findData(QStringLiteral("train")));
        QVERIFY(panel->teacherEditor()->isVisible());
        QVERIFY(panel->experiment().teacher.path.empty());
        panel->teacherSourceBox()->setCurrentIndex(panel->teacherSourceBox()->findData(QStringLiteral("torchscript")));
        QCOMPARE(panel->teacherLocationEdit()->text(), file);
        panel->teacherLocationEdit()->setText(file + QStringLiteral(".missing"));
        QVERIFY(panel->problem().contains(QStringLiteral("not found")));
        QVERIFY(!w->startAction()->isEnabled());

        // The choice survives a save and a reopen.
        panel->teacherLocationEdit()->setText(file);
        const QString saved = dir_.path() + QStringLiteral("/imported.json");
        w->saveExperiment(saved);
        const Experiment back = loadExperiment(saved.toStdString());
        QCOMPARE(QString::fromStdString(back.teacher.source), QStringLiteral("torchscript"));
        QCOMPARE(QString::fromStdString(back.teacher.path), file);
    }

    void exportDialogWritesAndChecksEveryFormat()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        testutil::Recorder rec;
        const RunResult r = Engine(e, EngineOptions{ws.path().toStdString()}).run(rec);
        QCOMPARE(r.status, RunStatus::Finished);

        auto w = openWindow(writeExperiment(QStringLiteral("export")), ws.path());
        QVERIFY(!w->exportAction()->isEnabled()); // nothing selected, no run of this window
        w->runsPanel()->selectRuns({QString::fromStdString(r.runDir)});
        QVERIFY(w->exportAction()->isEnabled());
        w->exportAction()->trigger();
        ExportDialog *dialog = w->exportDialog();
        QVERIFY(dialog);
        const QString out = ws.path() + QStringLiteral("/exported");
        dialog->setOutputFolder(out);
        QSignalSpy done(dialog, &ExportDialog::exportFinished);
        dialog->exportButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 60000);
        QVERIFY2(done.first().first().toBool(), qPrintable(dialog->error()));
        QCOMPARE(dialog->resultTable()->rowCount(), int(exportFormats().size()));
        for (const auto &f : dialog->report().files) {
            QVERIFY2(f.ok, f.message.c_str());
            QVERIFY(QFileInfo::exists(QString::fromStdString(f.path)));
            if (f.format != "card")
                QVERIFY(f.maxAbsDifference >= 0 && f.maxAbsDifference <= f.bound);
        }
        // The card's curves were drawn on the GUI thread while the export ran on its own.
        QVERIFY(QFileInfo(out + QStringLiteral("/student-curves.png")).size() > 5000);
        QVERIFY(testutil::readFile(out + QStringLiteral("/student-model-card.md")).contains("student-curves.png"));

        // An output folder that cannot exist: a clear message, no crash.
        testutil::writeFile(ws.path() + QStringLiteral("/blocker"), "x");
        dialog->setOutputFolder(ws.path() + QStringLiteral("/blocker/sub"));
        dialog->exportButton()->click();
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 2, 60000);
        QVERIFY(!done.last().first().toBool());
        QString failures;
        for (const auto &f : dialog->report().files)
            failures += QStringLiteral(" %1: %2").arg(QString::fromStdString(f.format), QString::fromStdString(f.message));
        QVERIFY2(dialog->error().contains(QStringLiteral("blocker/sub")),
                 qPrintable(QStringLiteral("error: '%1'; files:%2").arg(dialog->error(), failures)));
        dialog->close();
    }

    void resumingAStoppedRun()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 3;
        // Stopped after the baseline's first epoch, as a user would with Stop.
        struct StopAfterFirstBaselineEpoch : testutil::Recorder {
            Engine *engine = nullptr;
            void epochFinished(const EpochMetrics &m) override
            {
                Recorder::epochFinished(m);
                if (m.stage == StageKind::Baseline && m.epoch == 1)
                    engine->requestStop();
            }
        } stopper;
        Engine engine(e, EngineOptions{ws.path().toStdString()});
        stopper.engine = &engine;
        const RunResult stopped = engine.run(stopper);
        QCOMPARE(stopped.status, RunStatus::Stopped);
        const QString dir = QString::fromStdString(stopped.runDir);

        auto w = openWindow(writeExperiment(QStringLiteral("resume")), ws.path());
        QVERIFY(!w->resumeRunAction()->isEnabled());
        w->runsPanel()->selectRuns({dir});
        QVERIFY(w->resumeRunAction()->isEnabled());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->resumeRunAction()->trigger();
        QVERIFY(w->controller()->isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        const auto result = finished.first().first().value<RunResult>();
        QCOMPARE(result.status, RunStatus::Finished);
        QCOMPARE(QString::fromStdString(result.runDir), dir);
        QCOMPARE(result.stages.size(), std::size_t(3));
        // The plots show the whole run: the kept epochs were replayed, then the new ones.
        QVERIFY(w->accuracyPlot()->pointCount(0) > 0);
        // Each epoch once in the metrics file: 1 teacher + 3 baseline + 3 student.
        QCOMPARE(int(readRunMetrics(dir.toStdString()).epochs.size()), 7);
        QTRY_VERIFY(!w->controller()->isRunning());
        w->runsPanel()->selectRuns({dir});
        QVERIFY(!w->resumeRunAction()->isEnabled()); // finished now
    }

    // The experiment dock cannot be narrowed until its fields are cut at the
    // right edge (the panel has no horizontal scroll bar): long texts wrap,
    // and the dock is at least as wide as the fields need.
    void experimentFieldsAreNeverCut()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("narrow")), ws.path());
        ExperimentPanel *p = w->experimentPanel();
        auto check = [&] {
            for (const QSize size : {QSize(1500, 950), QSize(900, 700), QSize(640, 480)}) {
                w->resize(size);
                QTest::qWait(20);
                QVERIFY2(p->widget()->width() <= p->viewport()->width(),
                         qPrintable(QStringLiteral("at %1×%2: fields %3 px wide in a panel of %4 px")
                                        .arg(size.width()).arg(size.height())
                                        .arg(p->widget()->width()).arg(p->viewport()->width())));
            }
        };
        check();
        QVERIFY(p->widget()->width() < 520); // and the long lines wrap rather than widen it
        // The teacher imported from a file: a source box, a path and its input choice.
        QTemporaryDir files;
        const QString teacher = files.path() + QStringLiteral("/a-teacher-with-a-rather-long-file-name.pt");
        testutil::writeFile(teacher, "not read here");
        p->setTeacherFile(teacher);
        check();
    }

    void aLonePointIsDrawn()
    {
        LivePlot plot(QStringLiteral("test"), QStringLiteral("accuracy"));
        plot.resize(400, 300);
        plot.show();
        const int s = plot.addSeries(QStringLiteral("student"), Qt::blue);
        plot.addPoint(s, 1, 1, 0.8);
        // The smoothed curve is the legend's graph; one point cannot make a line.
        QCPGraph *curve = plot.plot()->graph(1);
        QCOMPARE(curve->name(), QStringLiteral("student"));
        QTRY_COMPARE(curve->dataCount(), 1);
        QCOMPARE(curve->scatterStyle().shape(), QCPScatterStyle::ssDisc);
        // Its range leaves room around the dot, and no negative epochs.
        QTRY_VERIFY(plot.plot()->yAxis->range().lower < 0.8 && plot.plot()->yAxis->range().upper > 0.8);
        QCOMPARE(plot.plot()->xAxis->range().lower, 0.0);
        QVERIFY(plot.plot()->xAxis->range().upper > 1);
        plot.addPoint(s, 2, 2, 0.85);
        QTRY_COMPARE(curve->dataCount(), 2);
        QVERIFY(curve->scatterStyle().isNone());
        // Points at the extremes are inside the frame, not on it.
        QTRY_VERIFY(plot.plot()->yAxis->range().lower < 0.8 && plot.plot()->yAxis->range().upper > 0.85);
    }

    void plotControls()
    {
        LivePlot plot(QStringLiteral("test"), QStringLiteral("y"));
        plot.resize(600, 400);
        plot.show();
        const int s = plot.addSeries(QStringLiteral("a"), Qt::blue);
        for (int i = 1; i <= 100000; ++i)
            plot.addPoint(s, i, i / 1000.0, 1.0 / i);
        QTRY_COMPARE(plot.plot()->graph(1)->dataCount(), 100000); // drawn
        QTRY_VERIFY(plot.replotCount() >= 1);
        // 100,000 points arrived in one burst: a handful of replots, not one per point.
        QVERIFY(plot.replotCount() < 5);
        // The next replot waits kReplotBudget times the average replot time
        // (including the last replot), at least the set minimum (none here)
        // and at most a second.
        plot.setReplotInterval(0);
        for (int round = 0; round < 3; ++round) {
            const int before = plot.replotCount();
            plot.addPoint(s, 100000.5 + round, 100.0, 1e-5);
            QTRY_VERIFY(plot.replotCount() > before);
        }
        const int budgeted = int(std::ceil(plot.averageReplotMs() * LivePlot::kReplotBudget));
        QVERIFY2(plot.replotInterval() > 0 && plot.replotInterval() <= 1000, qPrintable(QString::number(plot.replotInterval())));
        QCOMPARE(plot.replotInterval(), std::min(budgeted, 1000));
        plot.setReplotInterval(400);
        for (int i = 100011; i <= 100020; ++i)
            plot.addPoint(s, i, i / 1000.0, 1.0 / i);
        const int before = plot.replotCount();
        QTRY_VERIFY(plot.replotCount() > before);
        QVERIFY(plot.replotInterval() >= 400 && plot.replotInterval() <= 1000);
        plot.setSmoothing(0.9);
        plot.setLogY(true);
        plot.setXAxis(LivePlot::XAxis::Epoch);
        plot.setSeriesVisible(s, false);
        QVERIFY(!plot.isSeriesVisible(s));
        const QString png = dir_.path() + QStringLiteral("/plot.png"), pdf = dir_.path() + QStringLiteral("/plot.pdf");
        QVERIFY(plot.exportTo(png));
        QVERIFY(plot.exportTo(pdf));
        QVERIFY(QFileInfo(png).size() > 1000);
        QVERIFY(testutil::readFile(pdf).startsWith("%PDF"));
        QString error;
        QVERIFY(!plot.exportTo(QStringLiteral("/nonexistent/plot.png"), &error));
        QVERIFY(error.contains(QStringLiteral("/nonexistent/plot.png")));
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
