// Learning-rate schedules (core/src/training/schedule.cpp) against their
// definitions: linear warm-up, then constant, step decay or half-cosine.
#include "training/schedule.h"

#include <QtTest/QtTest>

#include <cmath>

using distillery::TrainConfig;
using distillery::detail::learningRate;

class TestSchedule : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void constant()
    {
        TrainConfig t;
        t.schedule = "constant";
        t.lr = 0.05;
        for (double at : {0.0, 0.5, 3.0, 4.99})
            QCOMPARE(learningRate(t, at), 0.05);
    }

    void warmupRisesLinearlyThenHandsOver()
    {
        TrainConfig t;
        t.schedule = "constant";
        t.lr = 0.1;
        t.warmupEpochs = 2;
        QCOMPARE(learningRate(t, 0.0), 0.0);
        QCOMPARE(learningRate(t, 0.5), 0.025);
        QCOMPARE(learningRate(t, 1.5), 0.075);
        QCOMPARE(learningRate(t, 2.0), 0.1);
    }

    void stepDecaysEveryNEpochs()
    {
        TrainConfig t;
        t.schedule = "step";
        t.lr = 0.2;
        t.stepEpochs = 3;
        t.gamma = 0.5;
        QCOMPARE(learningRate(t, 0.0), 0.2);
        QCOMPARE(learningRate(t, 2.99), 0.2);
        QCOMPARE(learningRate(t, 3.0), 0.1);
        QCOMPARE(learningRate(t, 6.5), 0.05);
    }

    void cosineFromPeakToZeroAfterWarmup()
    {
        TrainConfig t;
        t.schedule = "cosine";
        t.lr = 0.08;
        t.epochs = 10;
        t.warmupEpochs = 2;
        QCOMPARE(learningRate(t, 1.0), 0.04);                       // warm-up
        QCOMPARE(learningRate(t, 2.0), 0.08);                       // peak
        QVERIFY(std::abs(learningRate(t, 6.0) - 0.04) < 1e-12);     // half-way: cos(π/2)
        const double quarter = 0.08 * 0.5 * (1.0 + std::cos(M_PI * 0.25));
        QVERIFY(std::abs(learningRate(t, 4.0) - quarter) < 1e-12);
        QVERIFY(std::abs(learningRate(t, 10.0)) < 1e-12);           // the end
        QVERIFY(std::abs(learningRate(t, 12.0)) < 1e-12);           // never past it
    }
};

QTEST_APPLESS_MAIN(TestSchedule)
#include "tst_schedule.moc"
