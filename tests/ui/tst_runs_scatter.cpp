// The Runs panel's scatter: test accuracy against parameters, multiply-adds or
// latency for the selected runs' models, with the Pareto front; read from run
// folders written here as the engine writes them.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and qcustomplot.h needs them.
#undef QT_NO_KEYWORDS
#include "insightplot.h"
#include "insightview.h"
#include "mainwindow.h"
#include "runspanel.h"
#include "runsscatter.h"
#include "testutil.h"

#include "distillery/analysis.h"
#include "distillery/experiment.h"

#include <QAction>
#include <QComboBox>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QtTest/QtTest>

#include <qcustomplot.h>

#include <cmath>

using namespace distillery;

namespace {

struct Model {
    const char *stage;
    double accuracy;
    qint64 parameters;
    qint64 multiplyAdds;
    double latencyMs; // NaN: no analysis of this stage
};

// A run folder as the engine leaves it: config.json, summary.json with each
// stage's result and, for the stages with a latency, analysis/summary.json.
QString writeRun(const QString &workspace, const QString &folder, const QString &name, const QList<Model> &models)
{
    const QString dir = workspace + QStringLiteral("/runs/") + folder;
    QDir().mkpath(dir + QStringLiteral("/analysis"));
    testutil::writeFile(dir + QStringLiteral("/config.json"),
                        QJsonDocument(QJsonObject{{QStringLiteral("name"), name}}).toJson());
    QJsonObject stages;
    AnalysisSummary analysis;
    analysis.classes = 2;
    for (const Model &m : models) {
        stages[QLatin1String(m.stage)] = QJsonObject{
            {QStringLiteral("stage"), QLatin1String(m.stage)}, {QStringLiteral("status"), QStringLiteral("finished")},
            {QStringLiteral("test_accuracy"), m.accuracy},     {QStringLiteral("parameters"), m.parameters},
            {QStringLiteral("multiply_adds"), m.multiplyAdds}, {QStringLiteral("epochs_done"), 1}};
        if (std::isnan(m.latencyMs))
            continue;
        AnalysisLogits logits;
        logits.rows = 2;
        logits.classes = 2;
        logits.indices = {0, 1};
        logits.labels = {0, 1};
        logits.logits = {1, 0, 0, 1};
        StageAnalysis a = analyseLogits(logits);
        a.stage = m.stage;
        a.parameters = m.parameters;
        a.latency.medianMs = m.latencyMs;
        a.latency.passes = 20;
        a.latency.device = "cpu";
        analysis.stages.push_back(a);
    }
    testutil::writeFile(dir + QStringLiteral("/summary.json"),
                        QJsonDocument(QJsonObject{{QStringLiteral("status"), QStringLiteral("finished")},
                                                  {QStringLiteral("stages"), stages}})
                            .toJson());
    if (!analysis.stages.empty())
        testutil::writeFile(dir + QStringLiteral("/analysis/summary.json"),
                            QByteArray::fromStdString(analysisSummaryJson(analysis)));
    return dir;
}

constexpr double kNoLatency = NAN;

} // namespace

class TestRunsScatter : public QObject {
    Q_OBJECT

    QTemporaryDir ws_;
    QString recent_, old_; // a run with latency measured, and one from before

    // The widget's centre pixel of points()[i] on the current axis.
    static QPoint pixelOf(const RunsScatter &s, int i)
    {
        const ScatterPoint &p = s.points()[std::size_t(i)];
        return QPointF(s.plot()->xAxis->coordToPixel(scatterX(p, s.axis())),
                       s.plot()->yAxis->coordToPixel(100 * p.accuracy))
            .toPoint();
    }

    static int indexOf(const RunsScatter &s, const QString &dir, StageKind k)
    {
        for (int i = 0; i < int(s.points().size()); ++i)
            if (s.points()[std::size_t(i)].runDir == dir && s.points()[std::size_t(i)].stage == k)
                return i;
        return -1;
    }

    void showBoth(RunsScatter &s)
    {
        s.resize(640, 420);
        s.show();
        QVERIFY(QTest::qWaitForWindowExposed(&s));
        s.setRuns({recent_, old_});
        s.plot()->replot(); // lays the axes out for coordToPixel
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        recent_ = writeRun(ws_.path(), QStringLiteral("2026-01-02_10-00-00-recent"), QStringLiteral("recent"),
                           {{"teacher", 0.91, 1200000, 30000000, 2.5},
                            {"baseline", 0.80, 50000, 400000, 0.12},
                            {"student", 0.84, 50000, 400000, 0.11}});
        old_ = writeRun(ws_.path(), QStringLiteral("2025-06-01_09-00-00-old"), QStringLiteral("old"),
                        {{"teacher", 0.90, 900000, 20000000, kNoLatency}, {"student", 0.86, 200000, 3000000, kNoLatency}});
    }

    void pointsAreTheFilesFigures()
    {
        const std::vector<ScatterPoint> points = loadScatterPoints({recent_, old_});
        QCOMPARE(points.size(), std::size_t(5));
        const ScatterPoint &student = points[2];
        QCOMPARE(student.runDir, recent_);
        QCOMPARE(student.runName, QStringLiteral("recent"));
        QCOMPARE(student.stage, StageKind::Distillation);
        QCOMPARE(student.accuracy, 0.84);
        QCOMPARE(student.parameters, 50000.0);
        QCOMPARE(student.multiplyAdds, 400000.0);
        QCOMPARE(student.latencyMs, 0.11);
        const ScatterPoint &oldTeacher = points[3];
        QCOMPARE(oldTeacher.runName, QStringLiteral("old"));
        QCOMPARE(oldTeacher.stage, StageKind::Teacher);
        QCOMPARE(oldTeacher.parameters, 900000.0);
        QCOMPARE(oldTeacher.multiplyAdds, 20000000.0);
        QVERIFY(std::isnan(oldTeacher.latencyMs));

        // Drawn as they are, a graph per stage, on parameters by default.
        RunsScatter s;
        showBoth(s);
        QVERIFY(s.showsPlot());
        QCOMPARE(s.axis(), ScatterAxis::Parameters);
        QCOMPARE(s.drawn().size(), std::size_t(5));
        QCOMPARE(s.plot()->graph(0)->dataCount(), 2); // teachers
        QCOMPARE(s.plot()->graph(1)->dataCount(), 1); // the baseline
        QCOMPARE(s.plot()->graph(2)->dataCount(), 2); // students
        QCOMPARE(s.plot()->graph(2)->data()->at(0)->key, 50000.0);
        QCOMPARE(s.plot()->graph(2)->data()->at(0)->value, 84.0);
        QCOMPARE(s.plot()->xAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY2(s.note().startsWith(QStringLiteral("5 models of 2 runs, 4 on the Pareto front")), qPrintable(s.note()));
        QVERIFY(!s.note().contains(QStringLiteral("left out")));
        // Front: the small student 84%, the old student 86% (200k), the old
        // teacher 90% (900k), the teacher 91% (1.2M); the baseline is beaten.
        QCOMPARE(s.front(), (std::vector<int>{indexOf(s, recent_, StageKind::Distillation),
                                              indexOf(s, old_, StageKind::Distillation),
                                              indexOf(s, old_, StageKind::Teacher),
                                              indexOf(s, recent_, StageKind::Teacher)}));
        QCOMPARE(s.plot()->graph(3)->dataCount(), 4);
        QCOMPARE(s.plot()->graph(3)->lineStyle(), QCPGraph::lsStepLeft);
        // The figure says how it is computed; the point says what it is.
        QVERIFY(s.plot()->toolTip().contains(QStringLiteral("test_accuracy")));
        QVERIFY(s.plot()->toolTip().contains(QStringLiteral("Pareto front")));
        const QString tip = s.pointToolTip(indexOf(s, recent_, StageKind::Baseline));
        for (const QString &part : {QStringLiteral("recent"), QStringLiteral("baseline"), QStringLiteral("80.00%"),
                                    QStringLiteral("parameters 50.0k")})
            QVERIFY2(tip.contains(part), qPrintable(tip));
        QVERIFY(!tip.contains(QStringLiteral("the same figures")));
        // The baseline and the student share their parameters: on multiply-adds
        // too; a tie in accuracy as well puts them on one spot, and the tip names both.
        RunsScatter twins;
        QTemporaryDir ws;
        const QString dir = writeRun(ws.path(), QStringLiteral("twins"), QStringLiteral("twins"),
                                     {{"baseline", 0.8, 1000, 2000, kNoLatency}, {"student", 0.8, 1000, 2000, kNoLatency}});
        twins.setRuns({dir});
        twins.reload();
        QCOMPARE(twins.front(), (std::vector<int>{0, 1}));
        QVERIFY2(twins.pointToolTip(0).contains(QStringLiteral("the same figures: twins (student)")),
                 qPrintable(twins.pointToolTip(0)));
    }

    void paretoFrontOnAHandMadeSet()
    {
        const std::vector<QPointF> points{
            {1, 50},         // 0: front
            {2, 60},         // 1: front, tied with 2
            {2, 60},         // 2: front
            {2, 55},         // 3: as large as 1, less accurate
            {3, 60},         // 4: as accurate as 1, larger
            {4, 70},         // 5: front
            {0.5, 40},       // 6: front, the smallest
            {NAN, 99},       // 7: no x: ignored
            {5, 70},         // 8: as accurate as 5, larger
            {1, 50},         // 9: front, tied with 0
            {0.5, 30},       // 10: as small as 6, less accurate
            {6, INFINITY},   // 11: ignored
        };
        QCOMPARE(paretoFront(points), (std::vector<int>{6, 0, 9, 1, 2, 5}));
        QCOMPARE(paretoFront({}), std::vector<int>{});
        QCOMPARE(paretoFront({{3, 10}}), std::vector<int>{0});
        // Less accurate as it grows: only the smallest is on the front.
        QCOMPARE(paretoFront({{1, 90}, {10, 80}, {100, 70}}), std::vector<int>{0});
    }

    void aMissingLatencyLeavesThePointOut()
    {
        RunsScatter s;
        showBoth(s);
        s.setAxis(ScatterAxis::Latency);
        QCOMPARE(s.axisCombo()->currentIndex(), 2);
        QCOMPARE(s.drawn().size(), std::size_t(3));
        for (int i : s.drawn())
            QCOMPARE(s.points()[std::size_t(i)].runDir, recent_);
        QVERIFY2(s.note().contains(QStringLiteral("2 left out")), qPrintable(s.note()));
        QVERIFY2(s.note().contains(QStringLiteral("latency")), qPrintable(s.note()));
        QVERIFY(s.plot()->toolTip().contains(QStringLiteral("median_ms")));
        QCOMPARE(s.plot()->graph(2)->data()->at(0)->key, 0.11);
        // student 0.11 ms 84% beats the baseline (0.12 ms, 80%); the teacher is slower and better.
        QCOMPARE(s.front(), (std::vector<int>{indexOf(s, recent_, StageKind::Distillation),
                                              indexOf(s, recent_, StageKind::Teacher)}));
        // Back on multiply-adds, every point is drawn again.
        s.setAxis(ScatterAxis::MultiplyAdds);
        QCOMPARE(s.drawn().size(), std::size_t(5));
        QVERIFY(!s.note().contains(QStringLiteral("left out")));
    }

    void clickingAPointOpensItsRun()
    {
        RunsScatter s;
        showBoth(s);
        QSignalSpy opened(&s, &RunsScatter::runOpened);
        const int oldStudent = indexOf(s, old_, StageKind::Distillation);
        const QPoint at = pixelOf(s, oldStudent);
        QCOMPARE(s.pointAt(at + QPoint(3, -2)), oldStudent);
        QTest::mouseClick(s.plot(), Qt::LeftButton, {}, at + QPoint(2, 1));
        QCOMPARE(opened.count(), 1);
        QCOMPARE(opened.first().first().toString(), old_);
        // Away from every point, nothing opens.
        const QPoint corner(s.plot()->axisRect()->left() + 2, s.plot()->axisRect()->top() + 2);
        QCOMPARE(s.pointAt(corner), -1);
        QTest::mouseClick(s.plot(), Qt::LeftButton, {}, corner);
        QCOMPARE(opened.count(), 1);
    }

    void exportWritesAPngAndAPdf()
    {
        RunsScatter s;
        showBoth(s);
        QTemporaryDir out;
        const QString png = out.path() + QStringLiteral("/scatter.png");
        QString error;
        QVERIFY2(s.exportTo(png, &error), qPrintable(error));
        const QImage image(png);
        QVERIFY(!image.isNull());
        QVERIFY(image.width() >= s.plot()->width());
        const QString pdf = out.path() + QStringLiteral("/scatter.pdf");
        QVERIFY2(s.exportTo(pdf, &error), qPrintable(error));
        QVERIFY(testutil::readFile(pdf).startsWith("%PDF"));
        QVERIFY(!s.exportTo(out.path() + QStringLiteral("/no/such/folder/x.png")));
    }

    void emptyStatesSayWhatToDo()
    {
        RunsScatter s;
        s.show();
        QVERIFY(!s.showsPlot());
        QVERIFY2(s.emptyMessage().contains(QStringLiteral("Select runs")), qPrintable(s.emptyMessage()));
        QTemporaryDir ws;
        const QString unfinished = ws.path() + QStringLiteral("/runs/running");
        QDir().mkpath(unfinished);
        testutil::writeFile(unfinished + QStringLiteral("/config.json"), R"({"name": "running"})");
        testutil::writeFile(unfinished + QStringLiteral("/summary.json"), R"({"status": "running", "stages": {}})");
        s.setRuns({unfinished});
        QVERIFY(!s.showsPlot());
        QVERIFY2(s.emptyMessage().contains(QStringLiteral("no finished model")), qPrintable(s.emptyMessage()));
        s.setRuns({recent_});
        QVERIFY(s.showsPlot());
        QVERIFY(s.emptyMessage().isEmpty());
    }

    // In the window: the Runs panel's Scatter view shows the selected runs, and
    // a click on a point shows that run's Insight, the selection kept.
    // The Runs panel's filter, answered by the run index of the workspace.
    void runsPanelFiltersThroughTheIndex()
    {
        QTemporaryDir ws;
        const QString a = writeRun(ws.path(), QStringLiteral("2026-01-01_10-00-00-a"), QStringLiteral("alpha"),
                                   {{"teacher", 0.91, 1000, 1000, kNoLatency}, {"student", 0.84, 100, 100, kNoLatency}});
        writeRun(ws.path(), QStringLiteral("2026-01-01_11-00-00-b"), QStringLiteral("beta"),
                 {{"teacher", 0.91, 1000, 1000, kNoLatency}, {"student", 0.70, 100, 100, kNoLatency}});
        RunsPanel panel;
        panel.setWorkspace(ws.path());
        QCOMPARE(panel.runCount(), 2);
        panel.filterEdit()->setText(QStringLiteral("student_accuracy > 0.8"));
        QTest::keyClick(panel.filterEdit(), Qt::Key_Return);
        QCOMPARE(panel.runCount(), 1);
        QCOMPARE(panel.table()->model()->index(0, 0).data(Qt::UserRole).toString(), a);
        panel.filterEdit()->setText(QStringLiteral("name ~ et or name = alpha"));
        QTest::keyClick(panel.filterEdit(), Qt::Key_Return);
        QCOMPARE(panel.runCount(), 2);
        panel.filterEdit()->setText(QStringLiteral("studnet_accuracy > 0.8")); // a misspelt key
        QTest::keyClick(panel.filterEdit(), Qt::Key_Return);
        QVERIFY2(panel.filterError().contains(QStringLiteral("student_accuracy")), qPrintable(panel.filterError()));
        QCOMPARE(panel.runCount(), 2); // every run listed while the filter is wrong
        panel.filterEdit()->setText(QStringLiteral("name = nobody"));
        QTest::keyClick(panel.filterEdit(), Qt::Key_Return);
        QCOMPARE(panel.runCount(), 0);
        QVERIFY(!panel.showsRunList());
        panel.filterEdit()->clear(); // every run again
        QCOMPARE(panel.runCount(), 2);
        QVERIFY(panel.filterError().isEmpty());
    }

    void theWindowOpensTheClickedRun()
    {
        Experiment e = testutil::syntheticExperiment();
        QTemporaryDir dir;
        const QString experiment = dir.path() + QStringLiteral("/e.json");
        saveExperiment(e, experiment.toStdString());
        MainWindow w(ws_.path(), experiment);
        w.setConfirmClose(false);
        w.resize(1400, 900);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        RunsPanel *runs = w.runsPanel();
        QCOMPARE(runs->runCount(), 2);
        runs->selectRuns({recent_, old_});
        QAction *show = nullptr;
        for (QAction *a : w.findChildren<QAction *>())
            if (a->shortcut() == QKeySequence(Qt::CTRL | Qt::Key_3))
                show = a;
        QVERIFY(show);
        QVERIFY(!runs->showsScatter()); // the table first, as before
        show->trigger();
        QVERIFY(runs->showsScatter());
        RunsScatter *s = runs->scatter();
        QTRY_VERIFY(s->isVisible());
        // The panel grew to give the scatter room.
        QTRY_VERIFY2(runs->parentWidget()->height() >= w.height() * 2 / 5 - 20,
                     qPrintable(QStringLiteral("%1 of %2").arg(runs->parentWidget()->height()).arg(w.height())));
        QVERIFY(s->showsPlot());
        QCOMPARE(s->points().size(), std::size_t(5));
        s->plot()->replot();
        const int oldTeacher = indexOf(*s, old_, StageKind::Teacher);
        QTest::mouseClick(s->plot(), Qt::LeftButton, {}, pixelOf(*s, oldTeacher));
        QCOMPARE(w.centralTabs()->currentWidget(), static_cast<QWidget *>(w.insightView()));
        QCOMPARE(w.insightView()->runDir(), old_);
        QCOMPARE(runs->selectedRuns().size(), 2);
        QCOMPARE(runs->table()->currentIndex().data(Qt::UserRole).toString(), old_);
    }
};

QTEST_MAIN(TestRunsScatter)
#include "tst_runs_scatter.moc"
