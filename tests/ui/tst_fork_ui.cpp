// Forks in the window: the fork dialog's settings, Run ▸ Fork training the new
// run, and the Runs panel listing each fork under its origin.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and the window's headers need them.
#undef QT_NO_KEYWORDS
#include "forkdialog.h"
#include "mainwindow.h"
#include "runorder.h"
#include "runsmodel.h"
#include "runspanel.h"
#include "testutil.h"
#include "trainingcontroller.h"

#include "distillery/engine.h"
#include "distillery/fork.h"
#include "distillery/runs.h"

#include <QAction>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QMessageBox>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QtTest/QtTest>

using namespace distillery;

class TestForkUi : public QObject {
    Q_OBJECT
    QTemporaryDir ws_;
    QString origin_;

    QString experimentFile()
    {
        Experiment e = testutil::syntheticExperiment();
        e.name = "origin";
        e.teacher.train.epochs = 1;
        e.studentTrain.epochs = 4;
        e.threads = 1;
        const QString path = ws_.path() + QStringLiteral("/origin.json");
        saveExperiment(e, path.toStdString());
        return path;
    }

    int rowOf(const RunsPanel &panel, const QString &dir) const
    {
        return panel.model()->rowOf(dir);
    }

private Q_SLOTS:
    void initTestCase()
    {
        RunObserver quiet;
        const RunResult r = Engine(loadExperiment(experimentFile().toStdString()), EngineOptions{ws_.path().toStdString()})
                                .run(quiet);
        QCOMPARE(r.status, RunStatus::Finished);
        origin_ = QString::fromStdString(r.runDir);
    }

    // The panel's order: a sweep's points together in point order, forks under their origins.
    void runsAreGroupedBySweepAndForksNestUnderTheirOrigin()
    {
        const auto run = [](const char *dir, const char *sweep = "", int point = -1, const char *from = "") {
            RunInfo r;
            r.dir = std::string("/w/runs/") + dir;
            r.sweep = sweep;
            r.sweepPoint = point;
            r.forkedFrom = *from ? std::string("/elsewhere/runs/") + from : std::string();
            return r;
        };
        std::vector<RunInfo> runs{run("e-fork", "", -1, "b"), run("d"),          run("s-p0001", "s", 1),
                                  run("c-fork-fork", "", -1, "e-fork"), run("s-p0000", "s", 0),
                                  run("s-p0002", "s", 2),                run("b"),  run("x-fork", "", -1, "gone")};
        runorder::groupSweeps(runs);
        const std::vector<int> depth = runorder::nestForks(runs);
        QStringList order;
        for (const auto &r : runs)
            order << QFileInfo(QString::fromStdString(r.dir)).fileName();
        QCOMPARE(order, (QStringList{"d", "s-p0000", "s-p0001", "s-p0002", "b", "e-fork", "c-fork-fork", "x-fork"}));
        QCOMPARE(depth, (std::vector<int>{0, 0, 0, 0, 0, 1, 2, 0}));
    }

    void theDialogOffersTheKeptEpochsAndSaysWhatChanged()
    {
        ForkDialog d(origin_);
        QCOMPARE(d.epochBox()->minimum(), 1);
        QCOMPARE(d.epochBox()->maximum(), 4);
        QVERIFY(d.overrides().empty()); // nothing changed yet
        d.epochBox()->setValue(2);
        d.alphaBox()->setValue(0.9);
        d.epochsBox()->setValue(6);
        d.moreEdit()->setText(QStringLiteral("student.train.weight_decay=0, "));
        QCOMPARE(d.epoch(), 2);
        QCOMPARE(d.overrides(), (std::vector<std::string>{"distillation.alpha=0.9", "student.train.epochs=6",
                                                          "student.train.weight_decay=0"}));
    }

    void forkingTrainsTheNewRunListedUnderItsOrigin()
    {
        MainWindow w(ws_.path(), experimentFile());
        w.setConfirmClose(false);
        w.show();
        w.runsPanel()->selectRuns({origin_});
        QTRY_VERIFY(w.forkRunAction()->isEnabled());
        QSignalSpy finished(w.controller(), &TrainingController::runFinished);
        QVERIFY(w.startFork(origin_, 2, {"distillation.alpha=0.9"}));
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QTRY_VERIFY(!w.controller()->isRunning());
        w.runsPanel()->refresh();
        const RunsPanel &panel = *w.runsPanel();
        QCOMPARE(panel.runCount(), 2);
        // The fork's row right under its origin, marked and explained.
        const int originRow = rowOf(panel, origin_);
        QVERIFY(originRow >= 0);
        const QModelIndex fork = panel.model()->index(originRow + 1, 0);
        QVERIFY(fork.isValid());
        QVERIFY2(fork.data().toString().startsWith(QStringLiteral("↳ origin-fork")), qPrintable(fork.data().toString()));
        QVERIFY(fork.data(Qt::ToolTipRole).toString().contains(QStringLiteral("forked from %1 after epoch 2").arg(QFileInfo(origin_).fileName())));
        const RunInfo info = readRunInfo(fork.data(Qt::UserRole).toString().toStdString());
        QCOMPARE(info.status, RunStatus::Finished);
        QCOMPARE(info.forkedEpoch, 2);
        // A refused fork says why and starts nothing.
        QTimer::singleShot(0, [] {
            for (QWidget *top : QApplication::topLevelWidgets())
                if (auto *box = qobject_cast<QMessageBox *>(top)) {
                    QVERIFY(box->text().contains(QStringLiteral("no checkpoint of the student's epoch 9")));
                    box->accept();
                }
        });
        QVERIFY(!w.startFork(origin_, 9, {}));
        QCOMPARE(w.runsPanel()->runCount(), 2);
    }
};

QTEST_MAIN(TestForkUi)
#include "tst_fork_ui.moc"
