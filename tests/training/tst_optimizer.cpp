// The fused SGD step (core/src/training/optimizer.cpp) against
// torch::optim::SGD: the same updates, and a state that checkpoints restore.
#include "training/optimizer.h"
#include "testutil.h"
#include "torch_testutil.h"

#include <QtTest/QtTest>

using namespace distillery;
using namespace distillery::detail;

using testutil::maxDiff;

class TestOptimizer : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fusedSgdMatchesLibTorchSgd_data()
    {
        QTest::addColumn<double>("momentum");
        QTest::addColumn<bool>("nesterov");
        QTest::addColumn<double>("weightDecay");
        QTest::addColumn<bool>("channelsLast");
        QTest::addColumn<bool>("gradLayoutDiffers"); // takes SGD's own path
        QTest::newRow("plain") << 0.0 << false << 0.0 << false << false;
        QTest::newRow("weight decay") << 0.0 << false << 5e-4 << false << false;
        QTest::newRow("momentum") << 0.9 << false << 5e-4 << false << false;
        QTest::newRow("nesterov") << 0.9 << true << 5e-4 << false << false;
        QTest::newRow("nesterov, channels-last") << 0.9 << true << 5e-4 << true << false;
        QTest::newRow("gradient in another layout") << 0.9 << true << 5e-4 << true << true;
    }

    void fusedSgdMatchesLibTorchSgd()
    {
        QFETCH(double, momentum);
        QFETCH(bool, nesterov);
        QFETCH(double, weightDecay);
        QFETCH(bool, channelsLast);
        QFETCH(bool, gradLayoutDiffers);
        torch::manual_seed(3);
        auto w0 = torch::randn({16, 8, 3, 3});
        if (channelsLast)
            w0 = w0.contiguous(at::MemoryFormat::ChannelsLast);
        // Several parameters, one large enough to be split between threads.
        std::vector<torch::Tensor> ours{w0.clone(), torch::randn({70000})}, ref;
        for (auto &p : ours) {
            ref.push_back(p.clone().requires_grad_());
            p.requires_grad_();
        }
        TrainConfig t;
        t.optimizer = "sgd";
        t.lr = 0.05;
        t.momentum = momentum;
        t.nesterov = nesterov;
        t.weightDecay = weightDecay;
        auto fused = makeOptimizer(ours, t);
        torch::optim::SGD sgd(ref, torch::optim::SGDOptions(t.lr).momentum(momentum).nesterov(nesterov).weight_decay(weightDecay));
        for (int step = 0; step < 5; ++step) {
            for (std::size_t i = 0; i < ours.size(); ++i) {
                auto g = torch::randn_like(ours[i]);
                ours[i].mutable_grad() = gradLayoutDiffers ? g.contiguous() : g.clone();
                ref[i].mutable_grad() = g.clone();
            }
            fused->step();
            sgd.step();
        }
        for (std::size_t i = 0; i < ours.size(); ++i) {
            QVERIFY2(maxDiff(ours[i], ref[i]) < 1e-6, qPrintable(QString::number(maxDiff(ours[i], ref[i]))));
            QCOMPARE(ours[i].strides().vec(), ref[i].strides().vec());
        }
    }

    // The momentum buffers are SGD's own state, so a checkpoint of the fused
    // optimiser restores into one that continues exactly.
    void fusedSgdStateSavesAndRestores()
    {
        torch::manual_seed(4);
        TrainConfig t;
        t.optimizer = "sgd";
        t.lr = 0.1;
        t.momentum = 0.9;
        t.nesterov = true;
        t.weightDecay = 5e-4;
        auto a = torch::randn({300}).requires_grad_();
        auto b = a.detach().clone().requires_grad_();
        auto straight = makeOptimizer({a}, t);
        auto first = makeOptimizer({b}, t);
        std::vector<torch::Tensor> grads;
        for (int i = 0; i < 6; ++i)
            grads.push_back(torch::randn({300}));
        for (int i = 0; i < 3; ++i) {
            a.mutable_grad() = grads[i].clone();
            straight->step();
            b.mutable_grad() = grads[i].clone();
            first->step();
        }
        std::stringstream saved;
        torch::save(*first, saved);
        auto resumed = makeOptimizer({b}, t);
        torch::load(*resumed, saved);
        for (int i = 3; i < 6; ++i) {
            a.mutable_grad() = grads[i].clone();
            straight->step();
            b.mutable_grad() = grads[i].clone();
            resumed->step();
        }
        QVERIFY(torch::equal(a, b));
    }
};

QTEST_APPLESS_MAIN(TestOptimizer)
#include "tst_optimizer.moc"
