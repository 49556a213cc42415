// The workbench as a user drives it, under the offscreen platform.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "augmentationeditor.h"
#include "dataeditor.h"
#include "distillationeditor.h"
#include "elidedlabel.h"
#include "experimentpanel.h"
#include "exportdialog.h"
#include "liveplot.h"
#include "liveview.h"
#include "foldsection.h"
#include "insightclasses.h"
#include "insightconfusion.h"
#include "insightcurves.h"
#include "insightplot.h"
#include "insightsoft.h"
#include "insightview.h"
#include "mainwindow.h"
#include "modeleditor.h"
#include "pairingeditor.h"
#include "plotmarkers.h"
#include "scheduleeditor.h"
#include "settingsdialog.h"
#include "runsmodel.h"
#include "runspanel.h"
#include "traineditor.h"
#include "trainingcontroller.h"
#include "testutil.h"

#include "distillery/analysis.h"
#include "distillery/engine.h"
#include "distillery/methods.h"
#include "distillery/runs.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QImage>
#include <QStatusBar>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QScrollBar>
#include <QToolBar>
#include <QToolButton>
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
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <functional>

using namespace distillery;

namespace {

QJsonObject readJson(const QString &path)
{
    return QJsonDocument::fromJson(testutil::readFile(path)).object();
}

// Writes `count` 8×8 grey PNG files into the class folder `dir`/`name`
// (made; empty when count is 0), each a shade of its own.
void writeClassFolder(const QString &dir, const QString &name, int count, int shade)
{
    QVERIFY(QDir().mkpath(dir + QLatin1Char('/') + name));
    for (int i = 0; i < count; ++i) {
        QImage image(8, 8, QImage::Format_Grayscale8);
        image.fill(shade + 8 * i);
        image.setPixel(i % 8, 0, 255); // not quite uniform
        const QString file = QStringLiteral("%1/%2/%3.png").arg(dir, name).arg(i, 3, 10, QLatin1Char('0'));
        QVERIFY2(image.save(file, "PNG"), qPrintable(file));
    }
}

// Points the data editor at an image folder, as a user would type it.
void chooseFolder(DataEditor *d, const QString &dir)
{
    d->sourceBox()->setCurrentText(QStringLiteral("folder"));
    d->pathEdit()->clear();
    QTest::keyClicks(d->pathEdit(), dir);
    QTest::keyClick(d->pathEdit(), Qt::Key_Return);
}

// The panel's method parameters when they are those of `method`, every one
// and no other's, each in its range; else none, and why in the log.
std::map<std::string, double> ownParams(const ExperimentPanel &p, const std::string &method)
{
    const DistillConfig c = p.experiment().distillation;
    const auto problem = methodSettingsProblem(c);
    const MethodInfo *m = findMethod(method);
    if (c.method == method && !problem && m && c.params.size() == m->params.size())
        return c.params;
    qWarning("distillation: method %s with %zu parameters%s%s", c.method.c_str(), c.params.size(),
             problem ? ": " : "", problem ? problem->second.c_str() : "");
    return {};
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


    // No legend rectangle of the window's plots contains a drawn point, with
    // the window at three sizes.
    void checkLegends(MainWindow *w, const QString &what)
    {
        for (const QSize size : {QSize(1366, 768), QSize(1920, 1080), QSize(1280, 720)}) {
            w->resize(size);
            QTRY_COMPARE(w->size(), size);
            for (LivePlot *lp : w->liveView()->plots()) {
                QTRY_VERIFY(lp->isUpToDate()); // the points given so far drawn, at the plot's own pace
                QCustomPlot *plot = lp->plot();
                plot->replot();
                QVERIFY(plot->legend->visible() && plot->legend->itemCount() > 0);
                const QRect legend = plot->legend->outerRect();
                const QRect data = plot->axisRect()->rect();
                int drawn = 0;
                for (int g = 0; g < plot->graphCount(); ++g) {
                    QCPGraph *graph = plot->graph(g);
                    if (!graph->visible())
                        continue;
                    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it) {
                        const QPointF px(plot->xAxis->coordToPixel(it->key), plot->yAxis->coordToPixel(it->value));
                        if (!data.contains(px.toPoint()))
                            continue; // outside the axes: not drawn
                        ++drawn;
                        QVERIFY2(!legend.contains(px.toPoint()),
                                 qPrintable(QStringLiteral("%1, %2×%3: the legend of \"%4\" covers a point at %5,%6")
                                                .arg(what).arg(size.width()).arg(size.height())
                                                .arg(plot->yAxis->label()).arg(px.x()).arg(px.y())));
                    }
                }
                QVERIFY2(drawn > 0, qPrintable(QStringLiteral("%6 %7×%8 %1: y %2..%3, %4 graphs, first %5")
                                                   .arg(plot->yAxis->label()).arg(plot->yAxis->range().lower)
                                                   .arg(plot->yAxis->range().upper).arg(plot->graphCount())
                                                   .arg(plot->graphCount() > 1 && plot->graph(1)->dataCount() ? plot->graph(1)->data()->constBegin()->value : -1)
                                                   .arg(what).arg(size.width()).arg(size.height())));
            }
        }
    }

    // One short real run on 10 classes, made once for the Insight tests: its folder.
    QTemporaryDir insightWs_;
    QString insightRun_;
    QString insightRun()
    {
        if (!insightRun_.isEmpty())
            return insightRun_;
        Experiment e = testutil::syntheticExperiment();
        e.name = "insight";
        e.data.syntheticClasses = 10;
        e.data.syntheticTest = 2000;
        e.teacher.train.epochs = 2;
        e.studentTrain.epochs = 2;
        testutil::Recorder rec;
        const RunResult r = Engine(e, EngineOptions{insightWs_.path().toStdString()}).run(rec);
        if (r.status != RunStatus::Finished)
            qWarning("insight run: %s", r.message.c_str());
        insightRun_ = QString::fromStdString(r.runDir);
        return insightRun_;
    }

    // A window on the Insight run's workspace with the run selected and the Insight tab shown.
    std::unique_ptr<MainWindow> openInsight()
    {
        const QString run = insightRun();
        auto w = openWindow(writeExperiment(QStringLiteral("insight")), insightWs_.path());
        w->runsPanel()->table()->selectRow(0);
        w->showInsight();
        return w;
    }

    // The softmax of logits row `row` at temperature t, computed here.
    static std::vector<double> softmaxRow(const AnalysisLogits &l, std::int64_t row, double t)
    {
        std::vector<double> p(std::size_t(l.classes));
        double top = -INFINITY, sum = 0;
        for (std::int64_t k = 0; k < l.classes; ++k)
            top = std::max(top, double(l.logits[std::size_t(row * l.classes + k)]));
        for (std::int64_t k = 0; k < l.classes; ++k)
            sum += p[std::size_t(k)] = std::exp((double(l.logits[std::size_t(row * l.classes + k)]) - top) / t);
        for (double &v : p)
            v /= sum;
        return p;
    }

    static void copyFolder(const QString &from, const QString &to)
    {
        QDir().mkpath(to);
        for (const QFileInfo &f : QDir(from).entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot)) {
            if (f.isDir())
                copyFolder(f.filePath(), to + QLatin1Char('/') + f.fileName());
            else
                QFile::copy(f.filePath(), to + QLatin1Char('/') + f.fileName());
        }
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
        // The title names the experiment; it is marked modified once a field differs from the file.
        QVERIFY2(w->windowTitle().startsWith(QStringLiteral("opened[*]")), qPrintable(w->windowTitle()));
        QVERIFY(!w->isWindowModified());
        precision->setCurrentIndex(precision->findData(QStringLiteral("fp32")));
        QCOMPARE(p->experiment().precision, std::string("fp32"));
        QVERIFY(w->isWindowModified());

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
        // The teacher's validation accuracy, and its training accuracy (after the legend's "train" entry).
        QVERIFY(w->accuracyPlot()->pointCount(0) > 0);
        QVERIFY(w->accuracyPlot()->pointCount(2) > 0);
        QTRY_VERIFY(!w->controller()->isRunning());
        QVERIFY(w->startAction()->isEnabled());
        // The run appears in the runs panel.
        QTRY_COMPARE(w->runsPanel()->runCount(), 1);
    }

    // Machine ▸ Processes: the run trains over two processes (the second a
    // distillery-run the window starts), pauses and resumes both, draws its
    // curves as any run.
    void aRunOverTwoProcesses()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.name = "two";
        e.data.syntheticTrain = 40000; // a few seconds: long enough to pause
        e.teacher.train.epochs = 2;
        e.studentTrain.epochs = 2;
        e.threads = 1;
        const QString file = dir_.path() + QStringLiteral("/two.json");
        distillery::saveExperiment(e, file.toStdString());
        auto w = openWindow(file, ws.path());
        w->controller()->setRunner(QStringLiteral(DISTILLERY_RUNNER));
        auto *processes = w->findChild<QSpinBox *>(QStringLiteral("processes"));
        QVERIFY(processes);
        processes->setValue(2);
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        QSignalSpy paused(w->controller(), &TrainingController::pausedChanged);
        w->startAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->seriesCount() > 0 && w->lossPlot()->pointCount(0) > 0, 30000);
        w->pauseAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(paused.size() >= 1 && paused.last().first().toBool(), 20000);
        QTest::qWait(2500); // longer than the processes' one-second check while paused
        w->pauseAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 120000);
        const auto result = finished.first().first().value<RunResult>();
        QVERIFY2(result.status == RunStatus::Finished, result.message.c_str());
        QFile summary(QString::fromStdString(result.runDir) + QStringLiteral("/summary.json"));
        QVERIFY(summary.open(QIODevice::ReadOnly));
        QCOMPARE(QJsonDocument::fromJson(summary.readAll()).object().value(QStringLiteral("processes")).toInt(), 2);
        QCOMPARE(w->lossPlot()->seriesCount(), 5);
        QVERIFY(!paused.isEmpty() && !paused.last().first().toBool());
    }

    // A method's loss parts, each a curve of its own: live, as the run
    // reports them, and read back from the run folder when the run is selected.
    void aRunDrawsItsMethodsLossParts()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.name = "dist";
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.logEverySteps = 2;
        e.distillation.method = "dist";
        const QString path = dir_.path() + QStringLiteral("/dist.json");
        distillery::saveExperiment(e, path.toStdString());
        auto w = openWindow(path, ws.path());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QCOMPARE(finished.first().first().value<RunResult>().status, RunStatus::Finished);
        QTRY_VERIFY(!w->controller()->isRunning());
        // The visible curves with points, by name: their colours and lines.
        auto curves = [&] {
            QCustomPlot *plot = w->lossPlot()->plot();
            QMap<QString, QPen> drawn;
            for (int i = 0; i < plot->graphCount(); ++i)
                if (plot->graph(i)->visible() && plot->graph(i)->dataCount() > 0 && !plot->graph(i)->name().isEmpty())
                    drawn.insert(plot->graph(i)->name(), plot->graph(i)->pen());
            return drawn;
        };
        const QStringList parts{QStringLiteral("student inter"), QStringLiteral("student intra"), QStringLiteral("hard (CE)")};
        QTRY_VERIFY(w->lossPlot()->isUpToDate()); // every point given handed to the graphs
        const auto live = curves();
        QSet<Qt::PenStyle> lines{live.value(QStringLiteral("student")).style()};
        for (const QString &part : parts) {
            QVERIFY2(live.contains(part), qPrintable(QStringList(live.keys()).join(QStringLiteral(", "))));
            QCOMPARE(live[part].color(), live.value(QStringLiteral("student")).color()); // the stage's colour
            lines << live[part].style();
        }
        QCOMPARE(lines.size(), 4); // the total and each part told apart by their lines
        QVERIFY(!live.contains(QStringLiteral("soft (KD)")));
        QCOMPARE(w->lossPlot()->seriesCount(), 3 + 3); // teacher, baseline, student; DIST's three parts
        // Selected in the Runs panel: drawn from metrics.jsonl, with the same parts and lines.
        QTRY_COMPARE(w->runsPanel()->runCount(), 1);
        w->runsPanel()->table()->selectRow(0);
        QTRY_VERIFY(w->liveView()->caption()->text().contains(QStringLiteral("compared")));
        QTRY_VERIFY(w->lossPlot()->isUpToDate());
        const auto compared = curves();
        for (const QString &part : parts) {
            QVERIFY2(compared.contains(part), qPrintable(QStringList(compared.keys()).join(QStringLiteral(", "))));
            QCOMPARE(compared[part].style(), live[part].style());
        }
        // The table does not quote an α that DIST never used; the comparison names the method.
        RunsPanel *runs = w->runsPanel();
        QCOMPARE(runs->model()->index(0, 7).data().toString(), QStringLiteral("–"));
        QTableWidget *compare = runs->comparison();
        QStringList rows;
        for (int row = 0; row < compare->rowCount(); ++row)
            rows << compare->verticalHeaderItem(row)->text();
        QVERIFY(rows.contains(QStringLiteral("Method")));
        QCOMPARE(compare->item(int(rows.indexOf(QStringLiteral("Method"))), 0)->text(), QStringLiteral("dist"));
    }

    // T changed while the student trains, from the controller as the
    // dialog's Change does: a marker on every plot where it took effect,
    // the window's copy of the settings updated, and the marker drawn again
    // from the run folder when the run is compared.
    void settingChangedWhileTrainingIsMarked()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.name = "change";
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 2;
        e.logEverySteps = 2;
        const QString path = dir_.path() + QStringLiteral("/change.json");
        distillery::saveExperiment(e, path.toStdString());
        auto w = openWindow(path, ws.path());
        QVERIFY(!w->changeSettingsAction()->isEnabled());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        QSignalSpy changed(w->controller(), &TrainingController::settingChanged);
        w->startAction()->trigger();
        QVERIFY(w->changeSettingsAction()->isEnabled());
        QCOMPARE(w->controller()->requestSettingChange(QStringLiteral("alpha"), 7.0).left(6), QStringLiteral("alpha:"));
        QCOMPARE(w->controller()->requestSettingChange(QStringLiteral("temperature"), 2.0), QString());
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 180000); // generous: CI machines are shared
        QCOMPARE(changed.size(), 1);
        QCOMPARE(w->liveSettings().temperature, 2.0);
        for (PlotMarkers *m : w->liveView()->liveMarkers()) {
            QCOMPARE(m->count(), 1);
            QCOMPARE(m->label(0), QStringLiteral("T = 2"));
        }
        const auto change = changed.first().first().value<SettingChange>();
        QCOMPARE(change.stage, StageKind::Distillation);
        QCOMPARE(w->liveView()->liveMarkers()[0]->x(0), double(change.step)); // the loss plot counts steps
        // Compared from the run folder: the marker in the run's colour.
        QTRY_COMPARE_WITH_TIMEOUT(w->runsPanel()->runCount(), 1, 20000);
        w->runsPanel()->table()->selectRow(0);
        QTRY_COMPARE_WITH_TIMEOUT(w->liveView()->comparedMarkers()[0]->count(), 1, 20000);
        QCOMPARE(w->liveView()->comparedMarkers()[1]->label(0), QStringLiteral("T = 2"));
        QVERIFY(!w->changeSettingsAction()->isEnabled());
    }

    // The dialog shows the method's settings at their values and gives back what changed.
    void settingsDialogOffersTheMethodsSettings()
    {
        DistillConfig dkd;
        dkd.method = "dkd";
        dkd.temperature = 3;
        dkd.params["beta"] = 4;
        SettingsDialog d(dkd);
        QVERIFY(d.field(QStringLiteral("temperature")) && d.field(QStringLiteral("beta")));
        QCOMPARE(d.field(QStringLiteral("alpha"))->value(), 1.0); // DKD's own α (TCKD's weight), not distillation.alpha
        QVERIFY(!d.field(QStringLiteral("standardize"))); // a switch is not changed mid-run
        QCOMPARE(d.field(QStringLiteral("beta"))->value(), 4.0);
        QVERIFY(d.changes().empty());
        d.field(QStringLiteral("temperature"))->setValue(1.5);
        QCOMPARE(d.changes(), (std::vector<std::pair<QString, double>>{{QStringLiteral("temperature"), 1.5}}));
    }

    // Schedules: a row per scheduled setting, into the experiment and back;
    // a parameter's row goes when the method changes to one without it.
    void schedulesFollowTheMethod()
    {
        ExperimentPanel p;
        Experiment e = testutil::syntheticExperiment();
        e.distillation.method = "dkd";
        e.distillation.schedules["temperature"] = ValueSchedule{"cosine", 8.0, 2.0, 1.0, 0.0};
        e.distillation.schedules["beta"] = ValueSchedule{"linear", 0.0, 8.0, 0.0, 2.0};
        p.setExperiment(e);
        QTRY_VERIFY(p.dataReady());
        ScheduleEditor *s = p.distillationEditor()->scheduleEditor();
        QCOMPARE(s->table()->rowCount(), 2);
        // DKD's warm-up of 20 epochs cannot finish in the student's 3: said, not refused.
        QVERIFY2(p.teacherCacheLabel()->text().contains(QStringLiteral("Note: distillation.params.warmup")),
                 qPrintable(p.teacherCacheLabel()->text()));
        QCOMPARE(p.experiment().distillation.schedules, e.distillation.schedules);
        QVERIFY2(s->section()->summary().contains(QStringLiteral("temperature 8 → 2")), qPrintable(s->section()->summary()));
        p.methodBox()->setCurrentIndex(p.methodBox()->findData(QStringLiteral("kd")));
        QCOMPARE(s->table()->rowCount(), 1);
        QCOMPARE(p.experiment().distillation.schedules.count("temperature"), std::size_t(1));
        s->addButton()->click(); // α, the next setting kd has without a schedule
        QVERIFY(p.experiment().distillation.schedules.count("alpha"));
        QVERIFY2(p.problem().isEmpty(), qPrintable(p.problem()));
        s->table()->selectRow(0);
        s->removeButton()->click();
        QCOMPARE(p.experiment().distillation.schedules.size(), std::size_t(1));
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
        const int durationColumn = w->runsPanel()->model()->columnCount() - 1;
        QCOMPARE(w->runsPanel()->model()->headerData(durationColumn, Qt::Horizontal).toString(), QStringLiteral("Duration"));
        QCOMPARE(w->runsPanel()->model()->index(0, durationColumn).data().toString(), QStringLiteral("–"));
        w->pauseAction()->trigger(); // resume
        QTRY_COMPARE_WITH_TIMEOUT(paused.size(), 2, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(w->lossPlot()->pointCount(0) > frozen, 10000);
        w->stopAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 10000);
        const auto result = finished.first().first().value<RunResult>();
        QCOMPARE(result.status, RunStatus::Stopped);
        QCOMPARE(readJson(QString::fromStdString(result.runDir) + QStringLiteral("/summary.json"))[QStringLiteral("status")].toString(),
                 QStringLiteral("stopped"));
        QTRY_VERIFY(w->runsPanel()->model()->index(0, durationColumn).data().toString().contains(QLatin1Char(':')));
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

    // An omitted-class run (Hinton et al. 2015, section 3): the comparison
    // names the classes, the bias shift and the student's accuracy on them
    // before and after it, as in the run folder; other runs show a dash.
    void omittedClassesInTheComparison()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.baseline = false;
        testutil::Recorder plain;
        Engine(e, EngineOptions{ws.path().toStdString()}).run(plain);
        e.data.omitClasses = {1};
        e.data.omittedBiasShift = 1.5;
        testutil::Recorder rec;
        const RunResult r = Engine(e, EngineOptions{ws.path().toStdString()}).run(rec);
        QVERIFY2(r.status == RunStatus::Finished, r.message.c_str());
        const BiasCorrection &b = r.stage(StageKind::Distillation)->biasCorrection;
        auto w = openWindow(writeExperiment(QStringLiteral("omitted")), ws.path());
        RunsPanel *runs = w->runsPanel();
        QCOMPARE(runs->runCount(), 2);
        runs->table()->selectAll();
        QTableWidget *compare = runs->comparison();
        int classesRow = -1;
        for (int row = 0; row < compare->rowCount(); ++row)
            if (compare->verticalHeaderItem(row)->text() == QStringLiteral("Omitted classes"))
                classesRow = row;
        QVERIFY(classesRow >= 0);
        QStringList classes, accuracies;
        for (int c = 0; c < compare->columnCount(); ++c) {
            classes << compare->item(classesRow, c)->text();
            accuracies << compare->item(classesRow + 1, c)->text();
        }
        classes.sort();
        QCOMPARE(classes, (QStringList{QStringLiteral("1 (bias +1.50)"), QStringLiteral("–")}));
        const QString expected = QString::asprintf("%.2f%% → %.2f%%", 100 * b.omittedAccuracyBefore,
                                                   100 * b.omittedAccuracyAfter);
        QVERIFY2(accuracies.contains(expected), qPrintable(accuracies.join(QLatin1String(" | ")) + " vs " + expected));
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
        // Insight shows one run at a time, and says so.
        QVERIFY(!w->insightView()->showsFigures());
        QVERIFY(w->insightView()->messageLabel()->text().contains(QStringLiteral("2 runs selected")));
        // Per run: teacher, baseline and student curves in each plot, one
        // colour per run; the legend shows the three stages' line styles once.
        LivePlot *acc = w->accuracyPlot();
        QCOMPARE(acc->seriesWithPointsCount(), 6);
        acc->plot()->replot();
        int entries = 0;
        for (int i = 0; i < acc->plot()->legend->itemCount(); ++i)
            entries += acc->plot()->legend->item(i) ? 1 : 0;
        QCOMPARE(entries, 3);
        QSet<QRgb> colours;
        QSet<Qt::PenStyle> styles;
        for (int i = 0; i < acc->plot()->graphCount(); ++i)
            if (acc->plot()->graph(i)->dataCount() > 0 && acc->plot()->graph(i)->visible()) {
                colours << acc->plot()->graph(i)->pen().color().rgb();
                styles << acc->plot()->graph(i)->pen().style();
            }
        QCOMPARE(colours.size(), 2);
        QCOMPARE(styles.size(), 3);
        // The Runs panel is the key to the colours: a swatch beside each compared run.
        for (int r = 0; r < runs->model()->rowCount(); ++r)
            QVERIFY(!runs->model()->index(r, 0).data(Qt::DecorationRole).isNull());
        QCOMPARE(runs->comparison()->columnCount(), 2);
        runs->table()->clearSelection();
        QCOMPARE(w->accuracyPlot()->seriesCount(), 0);
        QVERIFY(runs->model()->index(0, 0).data(Qt::DecorationRole).isNull());
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
        // A row per file: one per format, and the card's two figures of the run's analysis.
        QCOMPARE(dialog->resultTable()->rowCount(), int(dialog->report().files.size()));
        QCOMPARE(dialog->report().files.size(), exportFormats().size() + 2);
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

    // On a 1366×768 screen, what is distilled into what, by which method and
    // at which T and α is in view without scrolling, on the default experiment.
    void distillationSettingsInViewOnALaptopScreen()
    {
        QTemporaryDir ws;
        auto w = std::make_unique<MainWindow>(ws.path(), QStringLiteral(DISTILLERY_EXPERIMENTS "/fashion-mnist-quick.json"));
        w->setConfirmClose(false);
        w->show();
        ExperimentPanel *p = w->experimentPanel();
        // Loaded, or refused with its reason where the data set is not installed.
        QTRY_VERIFY_WITH_TIMEOUT(p->dataReady() || !p->problem().startsWith(QStringLiteral("Loading")), 30000);
        auto *studentPreset = p->studentEditor()->findChild<QComboBox *>();
        auto *teacherPreset = p->teacherEditor()->findChild<QComboBox *>();
        const QList<QWidget *> knobs{p->methodBox(), p->temperatureBox(), p->temperatureSlider(), p->alphaBox(),
                                     p->alphaSlider(), teacherPreset, studentPreset, p->teacherSourceBox()};
        // The window on the screen, and maximised under a desktop's panel and title bar.
        for (const QSize size : {QSize(1366, 768), QSize(1366, 700)}) {
            w->resize(size);
            QTRY_COMPARE(w->size(), size);
            QTest::qWait(50);
            QCOMPARE(p->verticalScrollBar()->value(), 0);
            for (QWidget *knob : knobs) {
                QVERIFY(knob->isVisible());
                const QRect r(knob->mapTo(p->viewport(), QPoint(0, 0)), knob->size());
                QVERIFY2(p->viewport()->rect().contains(r),
                         qPrintable(QStringLiteral("at %1×%2: %3 at %4,%5 %6×%7 outside the visible %8×%9")
                                        .arg(size.width()).arg(size.height()).arg(knob->metaObject()->className())
                                        .arg(r.x()).arg(r.y()).arg(r.width()).arg(r.height())
                                        .arg(p->viewport()->width()).arg(p->viewport()->height())));
            }
        }
        // The models fold to their summary: parameters, multiply-adds and output shape.
        QVERIFY(!p->studentEditor()->table()->isVisible());
        if (p->dataReady())
            QVERIFY2(p->studentEditor()->summary().contains(QStringLiteral("parameters")) &&
                         p->studentEditor()->summary().contains(QStringLiteral("output 10")),
                     qPrintable(p->studentEditor()->summary()));
        // And open on demand.
        p->studentEditor()->layersSection()->toggleButton()->click();
        QVERIFY(p->studentEditor()->table()->isVisible());
    }

    // After a run, live and compared, no legend covers a point of its plot,
    // at three window sizes; labels are short and colours follow the stages.
    void legendsCoverNoData()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 2;
        for (double t : {2.0, 8.0}) {
            e.distillation.temperature = t;
            testutil::Recorder rec;
            Engine(e, EngineOptions{ws.path().toStdString()}).run(rec);
        }
        auto w = openWindow(writeExperiment(QStringLiteral("legends"), 2, 3), ws.path());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QTRY_VERIFY(!w->controller()->isRunning());
        // Narrow enough for a 1280×720 screen.
        QVERIFY2(w->minimumSizeHint().width() <= 1280, qPrintable(QString::number(w->minimumSizeHint().width())));
        checkLegends(w.get(), QStringLiteral("live"));
        // The stages of the live run: one colour each, in every plot.
        for (LivePlot *plot : w->liveView()->plots()) {
            QSet<QRgb> colours;
            for (int i = 0; i < plot->plot()->legend->itemCount(); ++i) {
                auto *item = qobject_cast<QCPPlottableLegendItem *>(plot->plot()->legend->item(i));
                if (!item)
                    continue; // an empty cell of the wrapped grid
                if (!qobject_cast<QCPGraph *>(item->plottable())->dataCount())
                    continue; // the teacher's test accuracy: a line across the plot
                const QString label = item->plottable()->name();
                QVERIFY2(label.size() <= 12 && !label.contains(QStringLiteral("legends")), qPrintable(label));
                colours << item->plottable()->pen().color().rgb();
            }
            QCOMPARE(colours.size(), 3); // teacher, baseline, student (the student's loss parts in its colour)
        }
        // Learning rates decayed by the cosine schedule span many decades: a log axis.
        QVERIFY(w->liveView()->learningRatePlot()->isLogY());
        QVERIFY(!w->accuracyPlot()->isLogY());
        // The two earlier runs compared with it.
        const QStringList all = [&] {
            QStringList dirs;
            for (const auto &run : listRuns(ws.path().toStdString()))
                dirs << QString::fromStdString(run.dir);
            return dirs;
        }();
        QCOMPARE(all.size(), 3);
        w->runsPanel()->selectRuns(all);
        QTRY_VERIFY(w->accuracyPlot()->seriesWithPointsCount() > 6);
        checkLegends(w.get(), QStringLiteral("compared"));
    }

    // What the window says while there is nothing to show, and when it stops.
    void emptyStatesComeAndGo()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("empty"), 1, 1), ws.path());
        LiveView *view = w->liveView();
        RunsPanel *runs = w->runsPanel();
        QVERIFY(!view->showsPlots());
        QVERIFY(view->emptyLabel()->isVisible());
        QVERIFY(view->emptyLabel()->text().contains(QStringLiteral("Ctrl+R")));
        QVERIFY(!runs->showsRunList());
        QVERIFY(!runs->showsComparison());
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QVERIFY(view->emptyLabel()->text().contains(QStringLiteral("Loading")));
        QTRY_VERIFY_WITH_TIMEOUT(view->showsPlots(), 20000); // at the first stage
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QTRY_VERIFY(!w->controller()->isRunning());
        QTRY_VERIFY(runs->showsRunList());
        QVERIFY(!runs->showsComparison());
        runs->table()->selectRow(0);
        QVERIFY(runs->showsComparison());
        runs->table()->clearSelection();
        QVERIFY(!runs->showsComparison());
        QVERIFY(view->showsPlots()); // the finished run stays drawn
        // With nothing selected, the Insight tab shows the finished run.
        QCOMPARE(w->insightView()->runDir(), runs->model()->index(0, 0).data(Qt::UserRole).toString());
        w->showInsight();
        QVERIFY(w->insightView()->showsFigures());
        QCOMPARE(w->insightView()->classes()->table()->rowCount(), 4);
        // A new window on the workspace: nothing drawn until a run is selected.
        auto again = openWindow(writeExperiment(QStringLiteral("empty")), ws.path());
        QVERIFY(!again->liveView()->showsPlots());
        QVERIFY(again->runsPanel()->showsRunList());
        again->runsPanel()->table()->selectRow(0);
        QVERIFY(again->liveView()->showsPlots());
        QVERIFY(again->liveView()->caption()->text().contains(QStringLiteral("compared")));
        again->runsPanel()->table()->clearSelection();
        QVERIFY(!again->liveView()->showsPlots());
    }

    void titleNamesTheExperimentAndMarksChanges()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("titled")), ws.path());
        ExperimentPanel *p = w->experimentPanel();
        QCOMPARE(w->windowTitle(), QStringLiteral("titled[*] – Distillery"));
        QVERIFY(!w->isWindowModified());
        const double t = p->temperatureBox()->value();
        p->temperatureBox()->setValue(t + 1);
        QVERIFY(w->isWindowModified());
        p->temperatureBox()->setValue(t); // as in the file again
        QVERIFY(!w->isWindowModified());
        p->nameEdit()->setText(QStringLiteral("renamed"));
        QCOMPARE(w->windowTitle(), QStringLiteral("renamed[*] – Distillery"));
        QVERIFY(w->isWindowModified());
        QVERIFY(w->saveExperiment(dir_.path() + QStringLiteral("/renamed.json")));
        QVERIFY(!w->isWindowModified());
        // While a run trains, the settings stay in view (the panel scrolls) but are not edited.
        w->startAction()->trigger();
        QVERIFY(!p->temperatureBox()->isEnabled());
        QVERIFY(p->isEnabled() && p->verticalScrollBar()->isEnabled());
        w->stopAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!w->controller()->isRunning(), 30000);
        QVERIFY(p->temperatureBox()->isEnabled());
    }

    // The augmentation and max-norm of each stage go through the panel and
    // back unchanged; the image-only ones are disabled, saying why, on vectors.
    void augmentationRoundTripsThroughThePanel()
    {
        Experiment e = testutil::syntheticExperiment();
        TrainConfig &t = e.teacher.train, &s = e.studentTrain;
        t.crop = 4, t.flip = true, t.erase = 0.25, t.mixup = 0.2, t.cutmix = 1.0, t.jitter = 2, t.maxNorm = 3.5;
        s.crop = 2, s.flip = false, s.erase = 0.5, s.mixup = 0.4, s.cutmix = 0.0, s.jitter = 1, s.maxNorm = 15;
        ExperimentPanel p;
        p.setExperiment(e);
        const Experiment back = p.experiment();
        for (const auto &[in, out] : {std::pair{t, back.teacher.train}, std::pair{s, back.studentTrain}}) {
            QCOMPARE(out.crop, in.crop);
            QCOMPARE(out.flip, in.flip);
            QCOMPARE(out.erase, in.erase);
            QCOMPARE(out.mixup, in.mixup);
            QCOMPARE(out.cutmix, in.cutmix);
            QCOMPARE(out.jitter, in.jitter);
            QCOMPARE(out.maxNorm, in.maxNorm);
        }
        AugmentationEditor *student = p.studentTrainEditor()->augmentation();
        QCOMPARE(student->mixupBox()->value(), 0.4);
        QCOMPARE(p.teacherTrainEditor()->maxNormBox()->value(), 3.5);
        QVERIFY2(student->summary().contains(QStringLiteral("mixup 0.4")), qPrintable(student->summary()));
        QVERIFY(p.studentTrainEditor()->section()->summary().contains(QStringLiteral("augmented")));
        // Edited in the widgets.
        student->cutmixBox()->setValue(1.0);
        p.teacherTrainEditor()->maxNormBox()->setValue(4);
        QCOMPARE(p.experiment().studentTrain.cutmix, 1.0);
        QCOMPARE(p.experiment().teacher.train.maxNorm, 4.0);
        // Synthetic vectors: mixup mixes them, the rest need images.
        QTRY_VERIFY_WITH_TIMEOUT(p.dataReady(), 15000);
        QVERIFY(student->mixupBox()->isEnabled());
        for (QWidget *w : QList<QWidget *>{student->cropBox(), student->flipBox(), student->jitterBox(),
                                           student->eraseBox(), student->cutmixBox()}) {
            QVERIFY(!w->isEnabled());
            QVERIFY2(w->toolTip().contains(QStringLiteral("vectors")), qPrintable(w->toolTip()));
        }
        QCOMPARE(p.experiment().studentTrain.crop, 2); // kept while disabled
    }

    // Feature methods: the pairs of taps, the method's default until edited,
    // each marked with what the method makes of it; a pair that cannot work
    // keeps Start disabled with the pair named.
    void featurePairsAreShownAndChecked()
    {
        ExperimentPanel p;
        Experiment e = testutil::convPairExperiment();
        e.distillation.method = "at";
        p.setExperiment(e);
        QTRY_VERIFY(p.dataReady());
        PairingEditor *pairs = p.distillationEditor()->pairingEditor();
        QVERIFY(pairs->isVisibleTo(&p));
        QCOMPARE(pairs->table()->rowCount(), 2); // pool1 and pool2 of both
        QVERIFY2(p.problem().isEmpty(), qPrintable(p.problem()));
        QVERIFY(p.experiment().distillation.pairs.empty()); // the default stands
        auto *student = qobject_cast<QComboBox *>(pairs->table()->cellWidget(1, 1));
        QCOMPARE(student->currentData().toString(), QStringLiteral("pool2"));
        QVERIFY(pairs->table()->item(1, 2)->text().startsWith(QStringLiteral("32×2×2 ↔ 32×2×2")));
        student->setCurrentIndex(student->findData(QStringLiteral("embedding")));
        QVERIFY2(p.problem().contains(QStringLiteral("cannot be paired")), qPrintable(p.problem()));
        QVERIFY(p.problem().contains(QStringLiteral("'embedding' (64)")));
        QCOMPARE(pairs->table()->item(1, 2)->foreground().color(), QColor(Qt::red));
        QCOMPARE(p.experiment().distillation.pairs.size(), std::size_t(2));
        QCOMPARE(p.experiment().distillation.pairs[1].student, std::string("embedding"));
        pairs->defaultButton()->click();
        QVERIFY(p.problem().isEmpty());
        QVERIFY(p.experiment().distillation.pairs.empty());
        // FitNets: one pair, with its adapter; kd: no pairs at all.
        p.methodBox()->setCurrentIndex(p.methodBox()->findData(QStringLiteral("fitnet")));
        QCOMPARE(pairs->table()->rowCount(), 1);
        QVERIFY2(pairs->table()->item(0, 2)->text().contains(QStringLiteral("adapter")),
                 qPrintable(pairs->table()->item(0, 2)->text()));
        p.methodBox()->setCurrentIndex(p.methodBox()->findData(QStringLiteral("kd")));
        QVERIFY(!pairs->isVisibleTo(&p));
        QVERIFY(p.experiment().distillation.pairs.empty());
    }

    // Deep mutual learning from the window: picked in the panel, the Teacher
    // section is not used; the run trains the baseline and the cohort, draws
    // no teacher, and the cohort's size is a whole number in the form.
    void mutualLearningFromTheWindow()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.name = "mutual";
        e.studentTrain.epochs = 2;
        e.logEverySteps = 2;
        const QString path = dir_.path() + QStringLiteral("/mutual.json");
        distillery::saveExperiment(e, path.toStdString());
        auto w = openWindow(path, ws.path());
        ExperimentPanel *p = w->experimentPanel();
        QVERIFY(p->teacherBox()->isEnabled());
        p->methodBox()->setCurrentIndex(p->methodBox()->findData(QStringLiteral("dml")));
        QVERIFY(!p->teacherBox()->isEnabled());
        QVERIFY(p->teacherBox()->title().contains(QStringLiteral("not used")));
        QVERIFY2(p->distillationEditor()->cacheReasonLabel()->text().contains(QStringLiteral("has no teacher")),
                 qPrintable(p->distillationEditor()->cacheReasonLabel()->text()));
        auto *students = qobject_cast<QDoubleSpinBox *>(p->distillationEditor()->paramField(QStringLiteral("students")));
        QVERIFY(students);
        QCOMPARE(students->decimals(), 0);
        QCOMPARE(students->minimum(), 2.0);
        students->setValue(3);
        QCOMPARE(p->experiment().distillation.method, std::string("dml"));
        QCOMPARE(p->experiment().distillation.params.at("students"), 3.0);
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        const auto result = finished.first().first().value<RunResult>();
        QCOMPARE(result.status, RunStatus::Finished);
        QCOMPARE(result.stages.size(), std::size_t(2));
        QCOMPARE(result.stages.back().peerTestAccuracy.size(), std::size_t(2));
        QTRY_VERIFY(!w->controller()->isRunning());
        QTRY_VERIFY(w->lossPlot()->isUpToDate());
        QCustomPlot *plot = w->lossPlot()->plot();
        QStringList drawn;
        for (int i = 0; i < plot->graphCount(); ++i)
            if (plot->graph(i)->visible() && plot->graph(i)->dataCount() > 0)
                drawn << plot->graph(i)->name();
        QVERIFY2(drawn.contains(QStringLiteral("student")) && drawn.contains(QStringLiteral("baseline")),
                 qPrintable(drawn.join(QStringLiteral(", "))));
        QVERIFY2(!drawn.contains(QStringLiteral("teacher")), qPrintable(drawn.join(QStringLiteral(", "))));
        // Back to kd: the teacher is used again.
        p->methodBox()->setCurrentIndex(p->methodBox()->findData(QStringLiteral("kd")));
        QVERIFY(p->teacherBox()->isEnabled());
        QCOMPARE(p->teacherBox()->title(), QStringLiteral("Teacher"));
    }

    // Born-again generations from the window: the Generations box makes a
    // chain of runs, each in the Runs panel, the second taught by the first's student.
    void bornAgainGenerationsFromTheWindow()
    {
        QTemporaryDir ws;
        Experiment e = testutil::syntheticExperiment();
        e.name = "chain";
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        const QString path = dir_.path() + QStringLiteral("/chain.json");
        distillery::saveExperiment(e, path.toStdString());
        auto w = openWindow(path, ws.path());
        ExperimentPanel *p = w->experimentPanel();
        QSpinBox *generations = p->distillationEditor()->generationsBox();
        QVERIFY(generations->isEnabled());
        generations->setValue(2);
        QCOMPARE(p->experiment().distillation.generations, 2);
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        w->startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 60000);
        QTRY_VERIFY(!w->controller()->isRunning());
        const auto last = finished.last().first().value<RunResult>();
        QCOMPARE(last.status, RunStatus::Finished);
        QVERIFY(QString::fromStdString(last.runDir).endsWith(QStringLiteral("-chain-gen2")));
        QCOMPARE(loadExperiment(last.runDir + "/config.json").teacher.stage, std::string("student"));
        QTRY_COMPARE(w->runsPanel()->runCount(), 2);
        // Mutual learning has no teacher to replace: no generations.
        p->methodBox()->setCurrentIndex(p->methodBox()->findData(QStringLiteral("dml")));
        QVERIFY(!generations->isEnabled());
    }

    // Each method's own parameters get a row each with the reference's
    // defaults, α only where the method uses it; values are kept per method
    // while the panel lives, and only the chosen method's are written.
    void methodParametersFollowTheMethod()
    {
        ExperimentPanel p;
        p.setExperiment(testutil::syntheticExperiment());
        DistillationEditor *d = p.distillationEditor();
        QComboBox *method = p.methodBox();
        QCOMPARE(method->count(), int(distillationMethods().size()));
        for (const MethodInfo &m : distillationMethods()) {
            const int i = method->findData(QString::fromStdString(m.name));
            QVERIFY(i >= 0);
            QCOMPARE(method->itemText(i), QString::fromStdString(m.title));
            QVERIFY(method->itemData(i, Qt::ToolTipRole).toString().contains(QStringLiteral("loss = ")));
        }
        // kd: the one switch, on the temperature's row; α is used.
        QCOMPARE(d->paramFields().size(), 1);
        QVERIFY(qobject_cast<QCheckBox *>(d->paramField(QStringLiteral("standardize"))));
        QVERIFY(p.alphaBox()->isEnabled() && p.alphaSlider()->isEnabled());
        QCOMPARE(ownParams(p, "kd"), (std::map<std::string, double>{{"standardize", 0}}));

        QSignalSpy changed(&p, &ExperimentPanel::changed);
        method->setCurrentIndex(method->findData(QStringLiteral("dkd")));
        QVERIFY(!changed.isEmpty());
        QCOMPARE(d->paramFields().size(), 6);
        const std::map<std::string, double> reference{{"ce", 1},     {"kd", 0},      {"alpha", 1},
                                                      {"beta", 8},   {"warmup", 20}, {"standardize", 0}};
        for (const auto &[key, value] : reference) {
            QWidget *field = d->paramField(QString::fromStdString(key));
            QVERIFY2(field && field->isVisibleTo(&p), key.c_str());
            QVERIFY2(field->toolTip().contains(QStringLiteral("Default: ")), qPrintable(field->toolTip()));
            if (auto *spin = qobject_cast<QDoubleSpinBox *>(field)) {
                QCOMPARE(spin->value(), value);
                const auto labels = p.distillationBox()->findChildren<QLabel *>();
                QVERIFY2(std::any_of(labels.begin(), labels.end(), [&](QLabel *l) { return l->buddy() == spin; }), key.c_str());
            }
        }
        QVERIFY(d->paramField(QStringLiteral("beta"))->toolTip().contains(QStringLiteral("Default: 8")));
        QVERIFY(!p.alphaBox()->isEnabled() && !p.alphaSlider()->isEnabled());
        QVERIFY2(p.alphaBox()->toolTip().contains(QStringLiteral("own parameters")), qPrintable(p.alphaBox()->toolTip()));
        QCOMPARE(ownParams(p, "dkd"), reference);
        // Tab goes down the rows under the method, then along the temperature's row.
        QList<QWidget *> chain;
        for (QWidget *w = method->nextInFocusChain(); w != p.alphaSlider() && chain.size() < 100; w = w->nextInFocusChain())
            if (d->paramFields().contains(w) || w == p.temperatureBox() || w == p.temperatureSlider())
                chain << w;
        const auto field = [&](const char *key) { return d->paramField(QString::fromLatin1(key)); };
        QCOMPARE(chain, (QList<QWidget *>{field("ce"), field("kd"), field("alpha"), field("beta"), field("warmup"),
                                          p.temperatureSlider(), p.temperatureBox(), field("standardize")}));

        // β typed as 4: into the experiment, through a file and back.
        auto *beta = qobject_cast<QDoubleSpinBox *>(field("beta"));
        beta->clear();
        QTest::keyClicks(beta, QStringLiteral("4"));
        QTest::keyClick(beta, Qt::Key_Enter);
        QCOMPARE(ownParams(p, "dkd")["beta"], 4.0);
        const QString file = dir_.path() + QStringLiteral("/dkd.json");
        distillery::saveExperiment(p.experiment(), file.toStdString());
        const Experiment loaded = loadExperiment(file.toStdString());
        QCOMPARE(loaded.distillation.params, p.experiment().distillation.params);
        ExperimentPanel again;
        again.setExperiment(loaded);
        QCOMPARE(qobject_cast<QDoubleSpinBox *>(again.distillationEditor()->paramField(QStringLiteral("beta")))->value(), 4.0);
        QCOMPARE(again.experiment().distillation.params, loaded.distillation.params);

        // DIST: its own four rows, none of DKD's keys; back to DKD: β is 4 again.
        method->setCurrentIndex(method->findData(QStringLiteral("dist")));
        QCOMPARE(ownParams(p, "dist"), (std::map<std::string, double>{{"ce", 1}, {"kd", 0}, {"beta", 1}, {"gamma", 1}}));
        QCOMPARE(p.distillationBox()->findChildren<QDoubleSpinBox *>().size(), 2 + 4); // T, α and DIST's
        QVERIFY(!d->paramField(QStringLiteral("warmup")));
        QVERIFY(!p.alphaBox()->isEnabled());
        method->setCurrentIndex(method->findData(QStringLiteral("dkd")));
        QCOMPARE(qobject_cast<QDoubleSpinBox *>(field("beta"))->value(), 4.0);
        QCOMPARE(ownParams(p, "dkd")["beta"], 4.0);
        // kd: α again, and the method a file names that this build lacks is kept as loaded.
        method->setCurrentIndex(method->findData(QStringLiteral("kd")));
        QVERIFY(p.alphaBox()->isEnabled());
        QCOMPARE(ownParams(p, "kd").size(), std::size_t(1));
        Experiment unknown = testutil::syntheticExperiment();
        unknown.distillation.method = "future";
        unknown.distillation.params = {{"rho", 0.5}};
        p.setExperiment(unknown);
        QCOMPARE(method->currentText(), QStringLiteral("future"));
        QVERIFY(d->paramFields().isEmpty() && p.alphaBox()->isEnabled());
        QCOMPARE(p.experiment().distillation.method, std::string("future"));
        QCOMPARE(p.experiment().distillation.params, unknown.distillation.params);
    }

    // The teacher-outputs label says what the cache does: flipping the
    // students' images turns the exact cache off, and the choice can keep it.
    void teacherCacheLabelFollowsTheStudentsAugmentation()
    {
        Experiment e = testutil::syntheticExperiment();
        e.data.source = "synthetic-images";
        e.data.syntheticFeatures = 8;
        ExperimentPanel p;
        p.setExperiment(e);
        QTRY_VERIFY_WITH_TIMEOUT(p.dataReady(), 15000);
        QLabel *reason = p.teacherCacheLabel();
        auto shows = [&](const char *start) {
            const QString expected = QString::fromStdString(teacherCacheChoice(p.experiment()).reason);
            return reason->text() == expected && expected.startsWith(QLatin1String(start));
        };
        QVERIFY2(shows("Exact"), qPrintable(reason->text()));
        QCheckBox *flip = p.studentTrainEditor()->augmentation()->flipBox();
        QVERIFY(flip->isEnabled()); // images
        flip->click();
        QVERIFY(p.experiment().studentTrain.flip);
        QVERIFY2(shows("Off: the students' inputs are augmented"), qPrintable(reason->text()));
        QComboBox *outputs = p.teacherOutputsBox();
        outputs->setCurrentIndex(outputs->findData(QStringLiteral("approximate")));
        QVERIFY(p.experiment().distillation.teacherCache && p.experiment().distillation.approximateCache);
        QVERIFY2(shows("Approximate"), qPrintable(reason->text()));
        outputs->setCurrentIndex(outputs->findData(QStringLiteral("off")));
        QVERIFY(!p.experiment().distillation.teacherCache);
        QVERIFY2(shows("Off (distillation.teacher_cache)"), qPrintable(reason->text()));
        outputs->setCurrentIndex(outputs->findData(QStringLiteral("cached")));
        flip->click();
        QVERIFY2(shows("Exact"), qPrintable(reason->text()));
        // The teacher's own augmentation does not change what it gives the students.
        p.teacherTrainEditor()->augmentation()->flipBox()->click();
        QVERIFY(p.experiment().teacher.train.flip);
        QVERIFY2(shows("Exact"), qPrintable(reason->text()));
        // An experiment that asks for the approximate cache shows it.
        e.distillation.approximateCache = true;
        p.setExperiment(e);
        QCOMPARE(outputs->currentData().toString(), QStringLiteral("approximate"));
    }

    // Each source shows its own settings and hides the others'.
    void dataSourceShowsItsOwnRows()
    {
        ExperimentPanel p;
        DataEditor *d = p.dataEditor();
        auto *form = qobject_cast<QFormLayout *>(d->layout());
        QVERIFY(form);
        auto shown = [&](QWidget *field) {
            QWidget *label = form->labelForField(field);
            return field->isVisibleTo(d) && (!label || label->isVisibleTo(d));
        };
        QList<QWidget *> folderFields{d->colorBox(), d->heightBox(), d->widthBox(), d->resizeBox()};
        d->sourceBox()->setCurrentText(QStringLiteral("folder"));
        for (QWidget *w : folderFields)
            QVERIFY2(shown(w), w->metaObject()->className());
        QVERIFY(!shown(d->labelsBox()));
        QVERIFY(d->browseButton()->isVisibleTo(d) && d->pathEdit()->isVisibleTo(d));
        d->sourceBox()->setCurrentText(QStringLiteral("cifar100"));
        QVERIFY(shown(d->labelsBox()));
        for (QWidget *w : folderFields)
            QVERIFY(!w->isVisibleTo(d));
        d->sourceBox()->setCurrentText(QStringLiteral("fashion-mnist"));
        for (QWidget *w : folderFields)
            QVERIFY(!w->isVisibleTo(d));
        QVERIFY(!shown(d->labelsBox()));
        QVERIFY(d->browseButton()->isVisibleTo(d));
        d->sourceBox()->setCurrentText(QStringLiteral("synthetic-vectors"));
        QVERIFY(!d->pathEdit()->isVisibleTo(d) && !d->browseButton()->isVisibleTo(d)); // made, not read
        // The folder's settings reach the experiment.
        d->sourceBox()->setCurrentText(QStringLiteral("folder"));
        d->colorBox()->setCurrentIndex(d->colorBox()->findData(QStringLiteral("rgb")));
        d->heightBox()->setValue(16); // the width follows: a size is both or neither
        d->resizeBox()->setChecked(false);
        const DataConfig c = p.experiment().data;
        QCOMPARE(c.color, std::string("rgb"));
        QCOMPARE(c.imageHeight, 16);
        QCOMPARE(c.imageWidth, 16);
        QVERIFY(!c.resize);
    }

    // Classes left out of the students' transfer set (Hinton et al.'s
    // section 3): ticked in the menu on the validation row, with the bias
    // shift beside them, and kept in the experiment both ways.
    void omittedClassesFromTheDataPanel()
    {
        ExperimentPanel p;
        DataEditor *d = p.dataEditor();
        DataConfig c = d->config();
        c.source = "synthetic-vectors";
        c.syntheticClasses = 4;
        d->setConfig(c);
        QSignalSpy loaded(d, &DataEditor::loaded);
        d->reload();
        QTRY_VERIFY_WITH_TIMEOUT(loaded.size() == 1 || !d->problem().isEmpty(), 15000);
        QVERIFY2(d->isReady(), qPrintable(d->problem()));
        const std::int64_t allRows = d->summary().studentTrainSamples;
        QCOMPARE(d->omitButton()->text(), QStringLiteral("Omit: none"));
        QVERIFY(!d->biasShiftBox()->isEnabled());

        QMenu *menu = d->omitButton()->menu();
        auto classActions = [&] {
            Q_EMIT menu->aboutToShow();
            QList<QAction *> out;
            for (QAction *a : menu->actions())
                if (a->isCheckable())
                    out << a;
            return out;
        };
        QCOMPARE(classActions().size(), 4);
        classActions()[2]->setChecked(true);
        QCOMPARE(p.experiment().data.omitClasses, std::vector<int>{2});
        QVERIFY2(d->omitButton()->text().contains(QString::fromStdString(d->summary().classNames[2])),
                 qPrintable(d->omitButton()->text()));
        QVERIFY(d->biasShiftBox()->isEnabled());
        // The data loads again: the students learn from the other classes only.
        QTRY_VERIFY_WITH_TIMEOUT(loaded.size() == 2, 15000);
        QVERIFY2(d->summary().studentTrainSamples < allRows, qPrintable(d->infoLabel()->text()));
        QVERIFY(d->infoLabel()->text().contains(QStringLiteral("students learn from")));
        // Only one class kept (the paper's 7-and-8 set, here one): invert.
        for (QAction *a : menu->actions())
            if (a->text().startsWith(QStringLiteral("Invert")))
                a->trigger();
        QCOMPARE(p.experiment().data.omitClasses, (std::vector<int>{0, 1, 3}));
        QCOMPARE(d->omitButton()->text(), QStringLiteral("Omit 3 classes"));
        QVERIFY(classActions()[0]->isChecked() && !classActions()[2]->isChecked());

        // The shift: chosen on validation by default (unset), or by hand.
        QVERIFY(!p.experiment().data.omittedBiasShift.has_value());
        d->biasShiftBox()->setValue(2.5);
        QCOMPARE(p.experiment().data.omittedBiasShift, std::optional<double>(2.5));
        d->biasShiftBox()->setValue(-0.2); // no negative shift: back to "chosen"
        QCOMPARE(d->biasShiftBox()->text(), QStringLiteral("chosen on validation"));
        QVERIFY(!p.experiment().data.omittedBiasShift.has_value());

        // From a file: its classes ticked, its shift shown.
        c.omitClasses = {1, 3};
        c.omittedBiasShift = 4.0;
        d->setConfig(c);
        const auto ticked = classActions();
        QVERIFY(!ticked[0]->isChecked() && ticked[1]->isChecked() && !ticked[2]->isChecked() && ticked[3]->isChecked());
        QCOMPARE(d->biasShiftBox()->value(), 4.0);
        QCOMPARE(p.experiment().data.omitClasses, (std::vector<int>{1, 3}));
        QCOMPARE(p.experiment().data.omittedBiasShift, std::optional<double>(4.0));
        c.omitClasses.clear();
        c.omittedBiasShift.reset();
        d->setConfig(c);
        QCOMPARE(d->omitButton()->text(), QStringLiteral("Omit: none"));
        QVERIFY(p.experiment().data.omitClasses.empty());
    }

    // A folder of class folders loads: its classes with their counts on a
    // line, a sample of each, decoded once into the workspace's cache; an
    // empty class folder is an error naming it.
    void imageFolderSourceLoads()
    {
        QTemporaryDir ws, images, broken;
        writeClassFolder(images.path(), QStringLiteral("cat"), 6, 150);
        writeClassFolder(images.path(), QStringLiteral("dog"), 6, 40);
        auto w = openWindow(writeExperiment(QStringLiteral("folder")), ws.path());
        DataEditor *d = w->experimentPanel()->dataEditor();
        QCOMPARE(d->cacheDir(), ws.path() + QStringLiteral("/cache"));
        QSignalSpy loaded(d, &DataEditor::loaded);
        chooseFolder(d, images.path());
        QTRY_VERIFY_WITH_TIMEOUT(loaded.size() == 1 || !d->problem().isEmpty(), 15000);
        QVERIFY2(d->isReady(), qPrintable(d->problem()));
        const DatasetSummary &s = d->summary();
        QCOMPARE(s.classNames, (std::vector<std::string>{"cat", "dog"}));
        QCOMPARE(s.inputShape, (Shape{1, 8, 8}));
        QCOMPARE(s.trainClassCounts.size(), std::size_t(2));
        const QString classes = QStringLiteral("2 classes: cat %1 · dog %2").arg(s.trainClassCounts[0]).arg(s.trainClassCounts[1]);
        QCOMPARE(d->classesLabel()->fullText(), classes);
        QCOMPARE(d->classesLabel()->text(), classes); // short enough to show whole
        QVERIFY(d->classesLabel()->isVisible());
        QVERIFY(d->classesLabel()->toolTip().contains(QStringLiteral("cat %1").arg(s.trainClassCounts[0])));
        QVERIFY(d->sampleCount() >= 1 && d->sampleCount() <= 2); // one per class of the held-out test set
        QCOMPARE(QString::fromStdString(w->experimentPanel()->experiment().data.path), images.path());
        // Decoded once, kept in the workspace for the next load and the runs.
        const QStringList cached = QDir(ws.path() + QStringLiteral("/cache/data")).entryList(QDir::Files);
        QVERIFY2(!cached.isEmpty(), qPrintable(ws.path()));

        writeClassFolder(broken.path(), QStringLiteral("cat"), 3, 150);
        writeClassFolder(broken.path(), QStringLiteral("bird"), 0, 0);
        chooseFolder(d, broken.path());
        QTRY_VERIFY_WITH_TIMEOUT(!d->problem().isEmpty(), 15000);
        QVERIFY2(d->problem().contains(QStringLiteral("bird")), qPrintable(d->problem()));
        QVERIFY(d->infoLabel()->text().contains(QStringLiteral("bird")));
        QVERIFY(d->classesLabel()->fullText().isEmpty() && !d->classesLabel()->isVisible());
        QVERIFY(!w->startAction()->isEnabled());
    }

    // A run decodes its image folder when it is not in the cache: the status
    // bar says how far it is.
    void runShowsItsDecodingProgress()
    {
        QTemporaryDir ws, images;
        writeClassFolder(images.path(), QStringLiteral("cat"), 6, 150);
        writeClassFolder(images.path(), QStringLiteral("dog"), 6, 40);
        Experiment e = testutil::syntheticExperiment();
        e.name = "decoding";
        e.data.source = "folder";
        e.data.path = images.path().toStdString();
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 1;
        e.teacher.train.batchSize = e.studentTrain.batchSize = 4;
        const QString file = dir_.path() + QStringLiteral("/decoding.json");
        distillery::saveExperiment(e, file.toStdString());
        auto w = openWindow(file, ws.path());
        QVERIFY(QDir(ws.path() + QStringLiteral("/cache")).removeRecursively()); // the preview's copy
        QStringList status;
        connect(w->controller(), &TrainingController::dataProgress, w.get(), [&] {
            for (QLabel *label : w->statusBar()->findChildren<QLabel *>())
                status << label->text();
        });
        QSignalSpy progress(w->controller(), &TrainingController::dataProgress);
        QSignalSpy finished(w->controller(), &TrainingController::runFinished);
        QVERIFY2(w->startAction()->isEnabled(), qPrintable(w->startBlockedReason()));
        w->startAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QCOMPARE(finished.first().first().value<RunResult>().status, RunStatus::Finished);
        QVERIFY(!progress.isEmpty());
        QCOMPARE(progress.last().at(0).toLongLong(), 12);
        QCOMPARE(progress.last().at(1).toLongLong(), 12);
        QVERIFY2(status.contains(QStringLiteral("Decoding images: 12 of 12")), qPrintable(status.join(QLatin1String(" | "))));
    }

    // Every command of the toolbar and every shortcut is in a menu; no two
    // commands share a shortcut.
    void everyActionIsInAMenu()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("menus")), ws.path());
        QSet<QAction *> inMenus;
        std::function<void(QMenu *)> collect = [&](QMenu *menu) {
            for (QAction *a : menu->actions()) {
                inMenus << a;
                if (a->menu())
                    collect(a->menu());
            }
        };
        for (QAction *a : w->menuBar()->actions())
            collect(a->menu());
        QVERIFY(inMenus.size() > 15);
        QMap<QString, QString> shortcuts;
        for (QAction *a : w->findChildren<QAction *>()) {
            if (a->shortcut().isEmpty())
                continue;
            QVERIFY2(inMenus.contains(a), qPrintable(a->text()));
            const QString key = a->shortcut().toString();
            QVERIFY2(!shortcuts.contains(key), qPrintable(key + QStringLiteral(": ") + shortcuts[key] + QStringLiteral(", ") + a->text()));
            shortcuts.insert(key, a->text());
        }
        for (QToolBar *bar : w->findChildren<QToolBar *>())
            for (QAction *a : bar->actions())
                QVERIFY2(a->isSeparator() || inMenus.contains(a), qPrintable(a->text()));
        for (const char *key : {"Ctrl+R", "Ctrl+P", "Ctrl+.", "Ctrl+O", "Ctrl+S", "Ctrl+E", "Ctrl+Q"})
            QVERIFY2(shortcuts.contains(QString::fromLatin1(key)), key);
        // Alt+T and Alt+W reach T and α from the keyboard.
        ExperimentPanel *p = w->experimentPanel();
        auto mnemonicOf = [&](QWidget *field) {
            for (QLabel *label : p->distillationBox()->findChildren<QLabel *>())
                if (label->buddy() == field) {
                    const int amp = label->text().indexOf(QLatin1Char('&'));
                    return amp >= 0 ? label->text().at(amp + 1).toLower() : QChar();
                }
            return QChar();
        };
        QCOMPARE(mnemonicOf(p->temperatureBox()), QChar(QLatin1Char('t')));
        QCOMPARE(mnemonicOf(p->alphaBox()), QChar(QLatin1Char('w')));
        QCOMPARE(mnemonicOf(p->methodBox()), QChar(QLatin1Char('m')));
    }

    // Tab walks the set-up panel from top to bottom, left to right in a row.
    void tabOrderFollowsThePanel()
    {
        QTemporaryDir ws;
        auto w = openWindow(writeExperiment(QStringLiteral("tabs")), ws.path());
        ExperimentPanel *p = w->experimentPanel();
        QWidget *content = p->widget();
        QApplication::setActiveWindow(w.get());
        QVERIFY(QTest::qWaitForWindowActive(w.get()));
        // Press Tab from the name as a user would, until the focus leaves the panel.
        p->nameEdit()->setFocus(Qt::TabFocusReason);
        QTRY_COMPARE(QApplication::focusWidget(), static_cast<QWidget *>(p->nameEdit()));
        QList<QWidget *> chain{p->nameEdit()};
        for (int i = 0; i < 100; ++i) {
            QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
            QWidget *at = QApplication::focusWidget();
            if (auto *spin = at ? qobject_cast<QAbstractSpinBox *>(at->parentWidget()) : nullptr)
                at = spin; // the field, not its inner line edit
            if (!at || !content->isAncestorOf(at) || chain.contains(at))
                break;
            chain << at;
        }
        QVERIFY(chain.size() > 15);
        QVERIFY(chain.indexOf(p->temperatureBox()) < chain.indexOf(p->alphaBox()));
        QVERIFY(chain.indexOf(p->teacherSourceBox()) < chain.indexOf(p->methodBox()));
        for (int i = 1; i < chain.size(); ++i) {
            const QRect a(chain[i - 1]->mapTo(content, QPoint(0, 0)), chain[i - 1]->size());
            const QRect b(chain[i]->mapTo(content, QPoint(0, 0)), chain[i]->size());
            // The next field is further down, or on the same row further right.
            const bool down = b.top() >= a.bottom() - 2;
            const bool right = b.left() >= a.right() - 2 && std::abs(b.center().y() - a.center().y()) < a.height();
            QVERIFY2(down || right, qPrintable(QStringLiteral("%1 at %2,%3 then %4 at %5,%6")
                                                   .arg(chain[i - 1]->metaObject()->className()).arg(a.x()).arg(a.y())
                                                   .arg(chain[i]->metaObject()->className()).arg(b.x()).arg(b.y())));
        }
    }

    // Insight ▸ Classes and the figures of the run folder: a row per class
    // with the summary's numbers, the bars, the K × K heatmap, the
    // reliability diagrams and the fidelity curves.
    void insightFillsFromTheRunFolder()
    {
        auto w = openInsight();
        InsightView *view = w->insightView();
        QTRY_VERIFY(view->showsFigures());
        QVERIFY2(view->warningLabel()->isHidden(), qPrintable(view->warningLabel()->text()));
        const AnalysisSummary summary = readAnalysisSummary(insightRun().toStdString());
        const int k = int(summary.classes);
        QCOMPARE(k, 10);
        QTableWidget *table = view->classes()->table();
        QCOMPARE(table->rowCount(), k);
        const StageAnalysis *student = summary.stage("student");
        const char *stages[] = {"teacher", "baseline", "student"};
        auto same = [](double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; };
        table->sortItems(InsightClasses::Gain, Qt::DescendingOrder); // as a click on the header does
        double previousGain = INFINITY;
        for (int row = 0; row < k; ++row) {
            const int c = table->item(row, InsightClasses::Class)->data(Qt::UserRole).toInt();
            for (int m = 0; m < 3; ++m)
                QVERIFY(same(table->item(row, InsightClasses::Teacher + m)->data(Qt::UserRole).toDouble(),
                             summary.stage(stages[m])->perClassAccuracy[std::size_t(c)]));
            const double gain = table->item(row, InsightClasses::Gain)->data(Qt::UserRole).toDouble();
            QVERIFY(same(gain, 100.0 * (student->perClassAccuracy[std::size_t(c)] -
                                        summary.stage("baseline")->perClassAccuracy[std::size_t(c)])));
            QVERIFY(gain <= previousGain);
            previousGain = gain;
            QCOMPARE(table->item(row, InsightClasses::Fixed)->data(Qt::UserRole).toDouble(),
                     double(student->baseline->fixed.perClass[std::size_t(c)]));
            QCOMPARE(table->item(row, InsightClasses::Broken)->data(Qt::UserRole).toDouble(),
                     double(student->baseline->broken.perClass[std::size_t(c)]));
        }
        QCustomPlot *bars = view->classes()->bars()->plot();
        QCOMPARE(bars->plottableCount(), 3);
        for (int m = 0; m < 3; ++m)
            QCOMPARE(qobject_cast<QCPBars *>(bars->plottable(m))->dataCount(), k);
        // The confusion heatmap: K × K cells, the student's counts.
        view->tabs()->setCurrentWidget(view->confusion());
        const insight::Heatmap &heat = view->confusion()->cells();
        QCOMPARE(heat.map->data()->keySize(), k);
        QCOMPARE(heat.map->data()->valueSize(), k);
        QCOMPARE(view->confusion()->modelBox()->currentIndex(), int(InsightConfusion::Student));
        for (int r = 0; r < k; ++r)
            for (int c = 0; c < k; ++c)
                QCOMPARE(heat.map->data()->cell(c, r), double(student->confusion[std::size_t(r)][std::size_t(c)]));
        view->confusion()->setMode(InsightConfusion::Difference);
        const StageAnalysis *baseline = summary.stage("baseline");
        QCOMPARE(heat.map->data()->cell(1, 0), double(student->confusion[0][1] - baseline->confusion[0][1]));
        // Reliability: each non-empty bin's accuracy as a bar.
        for (int m = 0; m < 3; ++m) {
            QCustomPlot *p = view->calibration()->diagram(m)->plot();
            int filled = 0;
            for (const CalibrationBin &b : summary.stage(stages[m])->calibration.bins)
                filled += b.count > 0 ? 1 : 0;
            QCOMPARE(qobject_cast<QCPBars *>(p->plottable(0))->dataCount(), filled);
        }
        // Fidelity: the baseline's and the student's agreement per epoch.
        QCOMPARE(view->fidelity()->agreementPlot()->seriesWithPointsCount(), 2);
        // Every figure exports.
        QTemporaryDir out;
        QVERIFY(view->classes()->bars()->exportTo(out.filePath(QStringLiteral("bars.png"))));
        QVERIFY(view->confusion()->heatmap()->exportTo(out.filePath(QStringLiteral("confusion.pdf"))));
        QVERIFY(QFileInfo(out.filePath(QStringLiteral("confusion.pdf"))).size() > 1000);
    }

    // A click on a cell lists exactly the examples of that true class that
    // the model predicts as that column, as in the model's logits file.
    void insightCellListsItsExamples()
    {
        auto w = openInsight();
        InsightView *view = w->insightView();
        QTRY_VERIFY(view->showsFigures());
        InsightConfusion *confusion = view->confusion();
        const char *stages[] = {"teacher", "baseline", "student"};
        for (int m = 0; m < 3; ++m) {
            confusion->setMode(m);
            const AnalysisLogits l = readAnalysisLogits(
                (insightRun() + QStringLiteral("/analysis/%1.logits").arg(QLatin1String(stages[m]))).toStdString());
            const std::vector<std::int64_t> predicted = predictions(l.view());
            for (int r = 0; r < 10; r += 3)
                for (int c = 0; c < 10; c += 2) {
                    QList<std::int64_t> expected;
                    for (std::int64_t i = 0; i < l.rows; ++i)
                        if (l.labels[std::size_t(i)] == r && predicted[std::size_t(i)] == c)
                            expected << l.indices[std::size_t(i)];
                    confusion->showCell(r, c);
                    QCOMPARE(confusion->listedExamples(), expected);
                    QVERIFY(confusion->examplesCaption()->text().startsWith(QString::number(expected.size())));
                }
        }
        // A click on the plot reaches the same handler.
        confusion->setMode(InsightConfusion::Student);
        QCustomPlot *p = confusion->heatmap()->plot();
        p->replot();
        const QPoint cell(int(p->xAxis->coordToPixel(2)), int(p->yAxis->coordToPixel(1)));
        QTest::mouseClick(p, Qt::LeftButton, {}, cell);
        const InsightRun &run = view->run();
        QVERIFY2(confusion->examplesCaption()->text().contains(QStringLiteral("of %1 predicted %2").arg(run.className(1), run.className(2))),
                 qPrintable(confusion->examplesCaption()->text()));
        // Choosing a listed example shows its soft targets.
        if (confusion->examples()->rowCount() > 0) {
            confusion->examples()->selectRow(0);
            QCOMPARE(qint64(view->softTargets()->exampleBox()->value()), qint64(confusion->listedExamples().first()));
        }
    }

    // The temperature slider redraws the soft targets (softmax(z/T) of the
    // stored logits) and the dark knowledge, fast.
    void insightTemperatureMovesTheSoftTargets()
    {
        auto w = openInsight();
        InsightView *view = w->insightView();
        QTRY_VERIFY(view->showsFigures());
        view->tabs()->setCurrentWidget(view->softTargets());
        InsightSoftTargets *soft = view->softTargets();
        const AnalysisLogits teacher = readAnalysisLogits((insightRun() + QStringLiteral("/analysis/teacher.logits")).toStdString());
        const AnalysisLogits student = readAnalysisLogits((insightRun() + QStringLiteral("/analysis/student.logits")).toStdString());
        const std::int64_t example = 17;
        soft->setExample(example);
        auto check = [&](double t) {
            for (int which = 0; which < 2; ++which) {
                const std::vector<double> p = softmaxRow(which == 0 ? teacher : student, example, t);
                QCPBars *bars = soft->bars(which);
                QCOMPARE(bars->dataCount(), int(p.size()));
                for (int k = 0; k < int(p.size()); ++k)
                    QVERIFY(std::abs(bars->data()->at(k)->value - p[std::size_t(k)]) < 1e-12);
            }
            const auto dark = darkKnowledge(teacher.view(), teacher.labels.data(), t);
            QCOMPARE(soft->darkCells().map->data()->cell(3, 2), dark[2][3]);
        };
        soft->temperatureSlider()->setValue(10); // T = 1
        QCOMPARE(soft->temperature(), 1.0);
        check(1.0);
        const double before = soft->bars(0)->data()->at(0)->value;
        soft->temperatureSlider()->setValue(80); // T = 8
        check(8.0);
        QVERIFY(soft->bars(0)->data()->at(0)->value != before);
        // A redraw on a slider move (10 classes, 2000 examples): well under a frame.
        QElapsedTimer clock;
        clock.start();
        const int moves = 40;
        for (int i = 0; i < moves; ++i) {
            soft->temperatureSlider()->setValue(10 + 4 * i);
            soft->softPlot()->plot()->replot(QCustomPlot::rpImmediateRefresh);
            soft->darkPlot()->plot()->replot(QCustomPlot::rpImmediateRefresh);
        }
        const double ms = double(clock.nsecsElapsed()) / 1e6 / moves;
        qInfo("Insight soft targets: %.2f ms per temperature move (10 classes, %lld examples)", ms,
              (long long)teacher.rows);
        QVERIFY2(ms < 16.0, qPrintable(QString::number(ms)));
    }

    // A run without analysis/ says so; a damaged summary names the file; a
    // damaged logits file is named above the figures that still show.
    void insightSaysWhyItHasNothingToShow()
    {
        QTemporaryDir copies;
        const QString none = copies.filePath(QStringLiteral("none")), broken = copies.filePath(QStringLiteral("broken")),
                      logits = copies.filePath(QStringLiteral("logits"));
        for (const QString &d : {none, broken, logits})
            copyFolder(insightRun(), d);
        QVERIFY(QDir(none + QStringLiteral("/analysis")).removeRecursively());
        testutil::writeFile(broken + QStringLiteral("/analysis/summary.json"), "{\"version\": 1, \"stages\": [");
        testutil::writeFile(logits + QStringLiteral("/analysis/baseline.logits"), "DSTLOGIT not really");
        InsightView view;
        view.resize(900, 600);
        view.show();
        QVERIFY(!view.showsFigures());
        view.showRun(none);
        QVERIFY(!view.showsFigures());
        QVERIFY2(view.messageLabel()->text().contains(QStringLiteral("No analysis in this run")),
                 qPrintable(view.messageLabel()->text()));
        view.showRun(broken);
        QVERIFY(!view.showsFigures());
        QVERIFY2(view.messageLabel()->text().contains(QDir::toNativeSeparators(broken) + QStringLiteral("/analysis/summary.json")) ||
                     view.messageLabel()->text().contains(broken + QStringLiteral("/analysis/summary.json")),
                 qPrintable(view.messageLabel()->text()));
        view.showRun(logits);
        QVERIFY(view.showsFigures());
        QVERIFY(view.warningLabel()->isVisible());
        QVERIFY2(view.warningLabel()->text().contains(QStringLiteral("baseline.logits")), qPrintable(view.warningLabel()->text()));
        QCOMPARE(view.classes()->table()->rowCount(), 10); // from the summary
        view.confusion()->setMode(InsightConfusion::Baseline);
        view.confusion()->showCell(0, 0);
        QVERIFY(view.confusion()->listedExamples().isEmpty());
        QVERIFY(view.confusion()->examplesCaption()->text().contains(QStringLiteral("could not be read")));
        view.showRun(insightRun());
        QVERIFY(view.showsFigures());
        QVERIFY(view.warningLabel()->isHidden());
    }

    // A dark desktop gets dark plots; the curves stay readable on them.
    void plotsFollowThePalette()
    {
        LivePlot plot(QStringLiteral("test"), QStringLiteral("y"));
        plot.resize(400, 300);
        plot.show();
        const int s = plot.addSeries(QStringLiteral("a"), QColor(21, 101, 192));
        plot.addPoint(s, 1, 1, 1.0);
        auto corner = [&] { plot.plot()->replot(); return plot.plot()->grab().toImage().pixelColor(2, 2); };
        QVERIFY(corner().lightness() > 128);
        QPalette dark;
        dark.setColor(QPalette::Base, QColor(30, 30, 30));
        dark.setColor(QPalette::Text, QColor(230, 230, 230));
        dark.setColor(QPalette::Window, QColor(45, 45, 45));
        plot.setPalette(dark);
        QTRY_VERIFY(corner().lightness() < 64);
        QVERIFY(plot.plot()->xAxis->tickLabelColor().lightness() > 192);
        QVERIFY(plot.plot()->graph(1)->pen().color().lightness() > QColor(21, 101, 192).lightness());
    }

    // The y axis goes logarithmic by itself where the data span more than two
    // decades, and stays as the user sets it once they choose.
    void logScaleFollowsTheData()
    {
        LivePlot plot(QStringLiteral("test"), QStringLiteral("learning rate"));
        plot.resize(400, 300);
        plot.show();
        const int teacher = plot.addSeries(QStringLiteral("teacher"), Qt::red);
        const int student = plot.addSeries(QStringLiteral("student"), Qt::blue);
        for (int i = 0; i < 10; ++i) {
            plot.addPoint(teacher, i, i, 0.001);
            plot.addPoint(student, i, i, 0.05);
        }
        QTRY_COMPARE(plot.plot()->graph(3)->dataCount(), 10); // drawn
        QVERIFY(!plot.isLogY()); // 50 times: under two decades
        // The axes fit the data on their first draw.
        QVERIFY(plot.plot()->yAxis->range().contains(0.001) && plot.plot()->yAxis->range().contains(0.05));
        QVERIFY2(plot.plot()->xAxis->range().contains(0) && plot.plot()->xAxis->range().contains(9),
                 qPrintable(QStringLiteral("%1..%2").arg(plot.plot()->xAxis->range().lower).arg(plot.plot()->xAxis->range().upper)));
        const int before = plot.replotCount();
        plot.addPoint(student, 10, 10, 0.00001); // decayed: over three decades
        QTRY_VERIFY(plot.replotCount() > before);
        QVERIFY(plot.isLogY());
        QVERIFY(plot.plot()->yAxis->range().contains(0.00001) && plot.plot()->yAxis->range().contains(0.05));
        plot.setLogY(false); // the user's choice holds
        plot.addPoint(student, 11, 11, 0.000001);
        QTest::qWait(300);
        QVERIFY(!plot.isLogY());
    }
};

QTEST_MAIN(TestGui)
#include "tst_gui.moc"
