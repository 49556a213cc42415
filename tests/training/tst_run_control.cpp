// Setting changes through RunControl (core/src/training/run_control.h): made
// in one process, taken at the next step; over several processes, rank 0
// takes the requested ones to share them and every process takes what was
// delivered, in order, however many deliveries came before the distillation
// stage took them.
#include "training/run_control.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

using Changes = std::vector<std::pair<std::string, double>>;

class TestRunControl : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void oneProcessTakesWhatWasRequested()
    {
        RunControl c;
        c.setSettings(DistillConfig{});
        QVERIFY(c.takeChanges().empty());
        QCOMPARE(c.requestChange("temperature", 2.0), std::string());
        const std::string refused = c.requestChange("alpha", 7.0);
        QVERIFY2(refused.rfind("alpha: ", 0) == 0, refused.c_str());
        QCOMPARE(c.takeChanges(), (Changes{{"temperature", 2.0}}));
        QVERIFY(c.takeChanges().empty());
    }

    void sharedChangesAreTakenOnlyOnceDelivered()
    {
        RunControl c;
        c.setSettings(DistillConfig{});
        c.shareChanges();
        QCOMPARE(c.requestChange("temperature", 2.0), std::string());
        QVERIFY(c.takeChanges().empty()); // requested is not agreed
        const Changes first = c.takeRequested();
        QCOMPARE(first, (Changes{{"temperature", 2.0}}));
        QVERIFY(c.takeRequested().empty());
        QCOMPARE(c.requestChange("alpha", 0.3), std::string());
        // Delivered during the teacher's stage, twice: both wait for the student's first step.
        c.deliver(first);
        c.deliver(c.takeRequested());
        QCOMPARE(c.takeChanges(), (Changes{{"temperature", 2.0}, {"alpha", 0.3}}));
        QVERIFY(c.takeChanges().empty());
    }

    // A change asked as a run ends is not carried into the next generation's run.
    void droppedChangesAreNotTaken()
    {
        RunControl c;
        c.setSettings(DistillConfig{});
        QCOMPARE(c.requestChange("temperature", 2.0), std::string());
        c.dropChanges();
        QVERIFY(c.takeChanges().empty());
        QCOMPARE(c.requestChange("temperature", 3.0), std::string());
        QCOMPARE(c.takeChanges(), (Changes{{"temperature", 3.0}}));
    }
};

QTEST_APPLESS_MAIN(TestRunControl)
#include "tst_run_control.moc"
