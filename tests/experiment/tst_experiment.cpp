// Experiment files: parsing, validation, overrides, round trips.
#include "distillery/experiment.h"
#include "distillery/methods.h"
#include "testutil.h"

#include <QtTest/QtTest>

using namespace distillery;

namespace {
const QString experiments = QStringLiteral(DISTILLERY_EXPERIMENTS);

// The message of the ConfigError that parsing `json` raises, or "" if none.
QString errorOf(const std::string &json, const std::vector<std::string> &overrides = {})
{
    try {
        parseExperiment(json, "x.json", overrides);
    } catch (const ConfigError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

const std::string minimal = R"({"teacher": {"model": {"preset": "mlp"}}, "student": {"model": {"preset": "mlp", "hidden": [16]}}})";
} // namespace

class TestExperiment : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void shippedExperimentsLoad_data()
    {
        QTest::addColumn<QString>("file");
        for (const char *f : {"fashion-mnist-quick.json", "fashion-mnist-hinton.json", "fashion-mnist-few-labels.json",
                              "fashion-mnist-omitted-class.json", "fashion-mnist-two-classes.json", "synthetic-demo.json",
                              "fashion-mnist-conv.json"})
            QTest::newRow(f) << experiments + "/" + f;
    }
    void shippedExperimentsLoad()
    {
        QFETCH(QString, file);
        const Experiment e = loadExperiment(file.toStdString());
        QVERIFY(!e.name.empty());
        // Written back and read again, nothing changes.
        const std::string json = experimentToJson(e);
        QCOMPARE(experimentToJson(parseExperiment(json)), json);
    }

    void defaultsAndValues()
    {
        const Experiment e = parseExperiment(minimal);
        QCOMPARE(e.distillation.temperature, 4.0);
        QCOMPARE(e.distillation.alpha, 0.5);
        QVERIFY(e.baseline);
        QCOMPARE(e.student.hidden, (std::vector<std::int64_t>{16}));
        QCOMPARE(e.data.source, std::string("fashion-mnist"));
    }

    void roundTripKeepsLayers()
    {
        Experiment e = parseExperiment(R"({"teacher": {"model": {"preset": "lenet5"}},
            "student": {"model": {"layers": [{"type": "flatten"}, {"type": "linear", "out": 32, "bias": false},
                                             {"type": "dropout", "p": 0.3}, {"type": "linear", "out": 10}]}}})");
        QCOMPARE(e.student.layers.size(), std::size_t(4));
        QCOMPARE(e.student.layers[1].bias, false);
        QCOMPARE(e.student.layers[2].p, 0.3);
        e.precision = "bf16";
        const Experiment back = parseExperiment(experimentToJson(e));
        QVERIFY(back.student.layers == e.student.layers);
        QCOMPARE(back.precision, std::string("bf16"));
        QCOMPARE(parseExperiment(minimal).precision, std::string("fp32"));
    }

    void roundTripKeepsRegularisersAndOmittedClasses()
    {
        Experiment e = parseExperiment(minimal);
        QCOMPARE(e.teacher.train.maxNorm, 0.0);
        QCOMPARE(e.teacher.train.jitter, 0);
        QVERIFY(e.data.omitClasses.empty());
        e.teacher.train.maxNorm = 3.5;
        e.teacher.train.jitter = 2;
        e.data.omitClasses = {3, 7};
        Experiment back = parseExperiment(experimentToJson(e));
        QCOMPARE(back.teacher.train.maxNorm, 3.5);
        QCOMPARE(back.teacher.train.jitter, 2);
        QCOMPARE(back.data.omitClasses, (std::vector<int>{3, 7}));
        QVERIFY(!back.data.omittedBiasShift); // "auto": chosen on the validation split
        e.data.omittedBiasShift = 4.25;
        back = parseExperiment(experimentToJson(e));
        QCOMPARE(back.data.omittedBiasShift.value_or(-1), 4.25);
    }

    void roundTripKeepsAugmentationAndImageSettings()
    {
        Experiment e = parseExperiment(minimal);
        QVERIFY(!augmentsInputs(e.studentTrain));
        e.studentTrain.crop = 4;
        e.studentTrain.flip = true;
        e.studentTrain.erase = 0.25;
        e.teacher.train.mixup = 0.2;
        e.teacher.train.cutmix = 1.0;
        e.data.source = "folder";
        e.data.path = "/data/pets";
        e.data.color = "grayscale";
        e.data.imageHeight = 24;
        e.data.imageWidth = 32;
        e.data.resize = false;
        e.distillation.approximateCache = true;
        const Experiment back = parseExperiment(experimentToJson(e));
        QCOMPARE(back.studentTrain.crop, 4);
        QCOMPARE(back.studentTrain.flip, true);
        QCOMPARE(back.studentTrain.erase, 0.25);
        QCOMPARE(back.teacher.train.mixup, 0.2);
        QCOMPARE(back.teacher.train.cutmix, 1.0);
        QCOMPARE(back.data.color, std::string("grayscale"));
        QCOMPARE(back.data.imageHeight, 24);
        QCOMPARE(back.data.imageWidth, 32);
        QCOMPARE(back.data.resize, false);
        QVERIFY(back.distillation.teacherCache && back.distillation.approximateCache);
        QVERIFY(experimentToJson(e).find(R"("teacher_cache": "approximate")") != std::string::npos);
        // One number is a square; CIFAR-100's label choice is kept.
        const auto square = parseExperiment(minimal, "", {"data.source=folder", "data.image_size=20"});
        QCOMPARE(square.data.imageHeight, 20);
        QCOMPARE(square.data.imageWidth, 20);
        const auto coarse = parseExperiment(minimal, "", {"data.source=cifar100", "data.cifar100_labels=coarse"});
        QCOMPARE(parseExperiment(experimentToJson(coarse)).data.cifar100Labels, std::string("coarse"));
    }

    // The teacher's outputs are cached exactly only when the students' inputs are not augmented.
    void teacherCacheFollowsAugmentation()
    {
        Experiment e = parseExperiment(minimal);
        QCOMPARE(teacherCacheChoice(e).mode, std::string("exact"));
        e.teacher.train.flip = true; // the teacher's own augmentation does not matter
        QCOMPARE(teacherCacheChoice(e).mode, std::string("exact"));
        const auto on = [](TrainConfig &t, int which) {
            switch (which) {
            case 0: t.jitter = 1; break;
            case 1: t.crop = 2; break;
            case 2: t.flip = true; break;
            case 3: t.erase = 0.5; break;
            case 4: t.mixup = 0.2; break;
            default: t.cutmix = 1.0; break;
            }
        };
        for (int which = 0; which < 6; ++which) {
            Experiment a = e;
            on(a.studentTrain, which);
            QVERIFY(augmentsInputs(a.studentTrain));
            const auto choice = teacherCacheChoice(a);
            QCOMPARE(choice.mode, std::string("off"));
            QVERIFY(choice.reason.find("augmented") != std::string::npos);
            a.distillation.approximateCache = true;
            QCOMPARE(teacherCacheChoice(a).mode, std::string("approximate"));
            a.distillation.teacherCache = false;
            QCOMPARE(teacherCacheChoice(a).mode, std::string("off"));
        }
    }

    void saveIsAtomicAndReadable()
    {
        QTemporaryDir dir;
        const std::string path = (dir.path() + "/e.json").toStdString();
        Experiment e = parseExperiment(minimal);
        e.distillation.temperature = 7.5;
        saveExperiment(e, path);
        QCOMPARE(loadExperiment(path).distillation.temperature, 7.5);
        QVERIFY(!QFile::exists(dir.path() + "/e.json.tmp"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, saveExperiment(e, "/nonexistent-dir/e.json"));
    }

    // Several teachers: read, written only when there are several, read back.
    void severalTeachersRoundTrip()
    {
        Experiment e = parseExperiment(R"({"teacher": {"model": {"preset": "mlp"}, "weight": 2},
            "teachers": [{"source": "run", "run": "runs/a", "weight": 1.5},
                         {"source": "torchscript", "path": "t.pt", "input": "normalised"}],
            "student": {"model": {"preset": "mlp", "hidden": [16]}}})");
        QCOMPARE(e.teachers.size(), std::size_t(2));
        QCOMPARE(e.teacher.weight, 2.0);
        QCOMPARE(e.teachers[0].source, std::string("run"));
        QCOMPARE(e.teachers[0].weight, 1.5);
        QCOMPARE(e.teachers[1].path, std::string("t.pt"));
        QCOMPARE(e.teachers[1].weight, 1.0); // the default
        QCOMPARE(teacherWeights(e), (std::vector<double>{2.0 / 4.5, 1.5 / 4.5, 1.0 / 4.5}));
        const Experiment back = parseExperiment(experimentToJson(e));
        QCOMPARE(back.teachers.size(), std::size_t(2));
        QCOMPARE(back.teacher.weight, 2.0);
        QCOMPARE(back.teachers[0].run, std::string("runs/a"));
        QCOMPARE(back.teachers[0].weight, 1.5);
        QCOMPARE(back.teachers[1].input, std::string("normalised"));
        QCOMPARE(experimentToJson(back), experimentToJson(e));
        // One teacher: no "teachers" and no weight in the file, as before.
        const std::string one = experimentToJson(parseExperiment(minimal));
        QVERIFY(one.find("\"teachers\"") == std::string::npos);
        QVERIFY(one.find("\"weight\"") == std::string::npos);
        QCOMPARE(teacherWeights(parseExperiment(minimal)), std::vector<double>{1.0});
    }

    void badTeachers_data()
    {
        QTest::addColumn<QString>("teachers");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty list") << "[]" << "teachers: is empty";
        QTest::newRow("not a list") << R"({"source": "run"})" << "teachers: must be a list";
        QTest::newRow("negative weight") << R"([{"source": "run", "run": "r", "weight": -1}])"
                                         << "teachers[0].weight: must be >= 0";
        QTest::newRow("all weights 0") << R"([{"source": "run", "run": "r", "weight": 0}])"
                                       << "teachers: the teachers' weights are all 0";
        QTest::newRow("unknown key") << R"([{"source": "run", "run": "r", "wieght": 2}])"
                                     << "teachers[0].wieght: unknown key; did you mean 'weight'?";
        QTest::newRow("trained") << R"([{"model": {"preset": "mlp"}}])"
                                 << "teachers[0].source: a further teacher is reused";
        QTest::newRow("run without folder") << R"([{"source": "run", "weight": 1}])" << "teachers[0].run:";
        QTest::newRow("second without path") << R"([{"source": "run", "run": "r"}, {"source": "torchscript"}])"
                                             << "teachers[1].path:";
        QTest::newRow("bad source") << R"([{"source": "download"}])" << "teachers[0].source: a further teacher";
        QTest::newRow("bad input") << R"([{"source": "torchscript", "path": "t.pt", "input": "scaled"}])"
                                   << "teachers[0].input:";
    }
    void badTeachers()
    {
        QFETCH(QString, teachers);
        QFETCH(QString, message);
        // The first teacher's weight is 0 too where all must be.
        const std::string first = message.contains("all 0") ? "teacher.weight=0" : "teacher.weight=1";
        const QString msg = errorOf(minimal, {"teachers=" + teachers.toStdString(), first});
        QVERIFY2(msg.startsWith("x.json: " + message), qPrintable(msg));
        // The first teacher's weight, and the methods that take one teacher.
        const std::string two = R"(teachers=[{"source": "run", "run": "r"}])";
        QVERIFY(errorOf(minimal, {two, "teacher.weight=-0.5"}).startsWith("x.json: teacher.weight: must be >= 0"));
        const QString dkd = errorOf(minimal, {two, "distillation.method=dkd"});
        QVERIFY2(dkd.startsWith("x.json: distillation.method: several teachers"), qPrintable(dkd));
        QVERIFY(errorOf(minimal, {two}).isEmpty());
    }

    void badValues_data()
    {
        QTest::addColumn<QString>("override");
        QTest::addColumn<QString>("field");
        QTest::newRow("torchscript without path") << "teacher.source=torchscript" << "teacher.path";
        QTest::newRow("teacher input") << "teacher.input=scaled" << "teacher.input";
        QTest::newRow("teacher source") << "teacher.source=download" << "teacher.source";
        QTest::newRow("T = 0") << "distillation.temperature=0" << "distillation.temperature";
        QTest::newRow("T < 0") << "distillation.temperature=-1" << "distillation.temperature";
        QTest::newRow("alpha > 1") << "distillation.alpha=1.5" << "distillation.alpha";
        QTest::newRow("alpha < 0") << "distillation.alpha=-0.1" << "distillation.alpha";
        QTest::newRow("lr = 0") << "student.train.lr=0" << "student.train.lr";
        QTest::newRow("lr < 0") << "teacher.train.lr=-0.1" << "teacher.train.lr";
        QTest::newRow("batch 0") << "student.train.batch_size=0" << "student.train.batch_size";
        QTest::newRow("epochs 0") << "teacher.train.epochs=0" << "teacher.train.epochs";
        QTest::newRow("validation 1") << "data.validation_fraction=1" << "data.validation_fraction";
        QTest::newRow("optimizer") << "student.train.optimizer=adamm" << "student.train.optimizer";
        QTest::newRow("schedule") << "student.train.schedule=cosin" << "student.train.schedule";
        QTest::newRow("device") << "device=tpu" << "device";
        QTest::newRow("blas threads") << "blas_threads=-1" << "blas_threads";
        QTest::newRow("precision") << "precision=fp8" << "precision";
        QTest::newRow("max-norm < 0") << "teacher.train.max_norm=-1" << "teacher.train.max_norm";
        QTest::newRow("jitter < 0") << "student.train.jitter=-2" << "student.train.jitter";
        QTest::newRow("omitted class < 0") << "data.omit_classes=[-1]" << "data.omit_classes";
        QTest::newRow("omit not a list") << "data.omit_classes=3" << "data.omit_classes";
        QTest::newRow("bias shift < 0") << "data.omitted_bias_shift=-1" << "data.omitted_bias_shift";
        QTest::newRow("bias shift word") << "data.omitted_bias_shift=best" << "data.omitted_bias_shift";
        QTest::newRow("method") << "distillation.method=fitnets" << "distillation.method";
        QTest::newRow("type") << "distillation.temperature=\"hot\"" << "distillation.temperature";
        QTest::newRow("epochs fraction") << "student.train.epochs=2.5" << "student.train.epochs";
        QTest::newRow("crop < 0") << "student.train.crop=-1" << "student.train.crop";
        QTest::newRow("erase > 1") << "student.train.erase=1.5" << "student.train.erase";
        QTest::newRow("mixup < 0") << "teacher.train.mixup=-0.2" << "teacher.train.mixup";
        QTest::newRow("cutmix word") << "teacher.train.cutmix=\"yes\"" << "teacher.train.cutmix";
        QTest::newRow("flip number") << "student.train.flip=0.5" << "student.train.flip";
        QTest::newRow("color") << "data.color=sepia" << "data.color";
        QTest::newRow("image size 0") << "data.image_size=[0, 28]" << "data.image_size";
        QTest::newRow("image size huge") << "data.image_size=50000" << "data.image_size";
        QTest::newRow("image size past int") << "data.image_size=[4294967328, 28]" << "data.image_size";
        QTest::newRow("image size shape") << "data.image_size=[28, 28, 3]" << "data.image_size";
        QTest::newRow("cifar100 labels") << "data.cifar100_labels=superclass" << "data.cifar100_labels";
        QTest::newRow("teacher cache word") << "distillation.teacher_cache=\"sometimes\"" << "distillation.teacher_cache";
    }
    void badValues()
    {
        QFETCH(QString, override);
        QFETCH(QString, field);
        const QString msg = errorOf(minimal, {override.toStdString()});
        QVERIFY2(msg.startsWith("x.json: " + field + ":"), qPrintable(msg));
    }

    // Each method's parameters: read, checked against methods.h, and written
    // out in full (defaults included) so a run's config says what it used.
    void methodParameters()
    {
        const auto dkd = parseExperiment(minimal, "", {"distillation.method=dkd", R"(distillation.params={"beta": 4})"});
        QCOMPARE(dkd.distillation.params.at("beta"), 4.0);
        QCOMPARE(methodParam(dkd.distillation, "beta"), 4.0);
        QCOMPARE(methodParam(dkd.distillation, "warmup"), 20.0); // the reference's default
        const std::string written = experimentToJson(dkd);
        const auto back = parseExperiment(written);
        for (const char *key : {"ce", "alpha", "beta", "warmup", "standardize"})
            QVERIFY2(back.distillation.params.count(key), key);
        QCOMPARE(back.distillation.params.at("beta"), 4.0);
        QVERIFY(written.find(R"("standardize": false)") != std::string::npos); // a switch reads as one
        // A run's config (every DKD parameter written) run again with another method.
        const auto switched = parseExperiment(written, "", {"distillation.method=dist"});
        QCOMPARE(switched.distillation.method, std::string("dist"));
        QVERIFY(switched.distillation.params.empty());
        QCOMPARE(methodParam(switched.distillation, "beta"), 1.0); // DIST's own default, not DKD's 4
        QVERIFY(!errorOf(written, {"distillation.method=dist", R"(distillation.params={"beta": 2, "warmup": 3})"})
                     .isEmpty()); // parameters given with it are the user's, and checked
        const auto kd = parseExperiment(minimal, "", {R"(distillation.params={"standardize": true})"});
        QCOMPARE(methodParam(kd.distillation, "standardize"), 1.0);
        QVERIFY(findMethod("dist") && !findMethod("dist")->usesAlpha && findMethod("kd")->usesAlpha);
    }

    // Feature methods: taps on layers and the pairs, read and written back; a
    // method on logits takes no pairs, and --set of another method drops them.
    void tapsAndPairs()
    {
        const std::string text = R"({"teacher": {"model": {"preset": "mlp"}}, "student": {"model": {"layers": [{"type": "flatten"},
            {"type": "linear", "out": 32, "tap": "hidden"}, {"type": "relu"}, {"type": "linear", "out": 10}]}},
            "distillation": {"method": "rkd", "pairs": [{"teacher": "embedding", "student": "hidden"}]}})";
        const auto e = parseExperiment(text);
        QCOMPARE(e.student.layers[1].tap, std::string("hidden"));
        QCOMPARE(e.distillation.pairs.size(), std::size_t(1));
        QCOMPARE(e.distillation.pairs[0].student, std::string("hidden"));
        const auto back = parseExperiment(experimentToJson(e));
        QCOMPARE(back.student.layers, e.student.layers);
        QCOMPARE(back.distillation.pairs, e.distillation.pairs);
        const auto kd = parseExperiment(experimentToJson(e), "", {"distillation.method=kd"});
        QVERIFY(kd.distillation.pairs.empty());
        QVERIFY(findMethod("rkd")->usesFeatures() && !findMethod("dkd")->usesFeatures());
    }

    // Schedules of T, α and a method's parameters: read ("from" defaults to
    // the fixed value), written back, and their values along a stage.
    void schedules()
    {
        const auto e = parseExperiment(minimal, "", {R"(distillation.schedules={"temperature": {"shape": "linear", "to": 1, "start": 1, "end": 3}})",
                                                     "distillation.temperature=5"});
        const ValueSchedule &t = e.distillation.schedules.at("temperature");
        QCOMPARE(t.from, 5.0);
        QCOMPARE(parseExperiment(experimentToJson(e)).distillation.schedules, e.distillation.schedules);
        QCOMPARE(scheduledValue(t, 0.0, 4), 5.0);   // before start
        QCOMPARE(scheduledValue(t, 2.0, 4), 3.0);   // half way
        QCOMPARE(scheduledValue(t, 3.5, 4), 1.0);   // after end
        ValueSchedule c{"cosine", 0.0, 1.0, 0.0, 0.0};
        QCOMPARE(scheduledValue(c, 1.0, 4), (1 - std::cos(M_PI / 4)) / 2); // end 0: the stage's last epoch
        QCOMPARE(scheduledValue(ValueSchedule{"step", 4.0, 2.0, 1.0, 0.0}, 0.999, 2), 4.0);
        QCOMPARE(scheduledValue(ValueSchedule{"step", 4.0, 2.0, 1.0, 0.0}, 1.0, 2), 2.0);
        QCOMPARE(scheduledValue(ValueSchedule{"constant", 3.0, 9.0, 0.0, 0.0}, 1.5, 2), 3.0);
        DistillConfig dkd;
        dkd.method = "dkd";
        dkd.schedules["beta"] = ValueSchedule{"linear", 0.0, 8.0, 0.0, 2.0};
        QCOMPARE(methodParam(settingsAt(dkd, 1.0, 4), "beta"), 4.0);
        QCOMPARE(adjustableSettings(dkd), (std::vector<std::string>{"temperature", "ce", "kd", "alpha", "beta", "warmup"}));
        dkd.alpha = 0.25; // distillation.alpha, which DKD does not use: its "alpha" is TCKD's weight
        QCOMPARE(distillSetting(dkd, "alpha"), 1.0);
        setDistillSetting(dkd, "alpha", 2.0);
        QCOMPARE(methodParam(dkd, "alpha"), 2.0);
        QCOMPARE(dkd.alpha, 0.25);
        // Another method keeps T's and α's schedules and drops the parameters'.
        DistillConfig both = dkd;
        both.schedules["temperature"] = t;
        Experiment withBoth = e;
        withBoth.distillation = both;
        const auto kd = parseExperiment(experimentToJson(withBoth), "", {"distillation.method=kd"});
        QCOMPARE(kd.distillation.schedules.size(), std::size_t(1));
        QVERIFY(kd.distillation.schedules.count("temperature"));
        QCOMPARE(settingProblem(kd.distillation, "alpha", 2.0), std::string("must be in [0, 1] (got 2)"));
        QVERIFY(settingProblem(kd.distillation, "temprature", 2.0).find("did you mean 'temperature'") != std::string::npos);
        QCOMPARE(settingProblem(kd.distillation, "temperature", 2.0), std::string());
    }

    // Settings that cannot do what they say in the student's budget are
    // noted (never refused).
    void notesOnSettingsOutOfReach()
    {
        Experiment e = parseExperiment(minimal, "", {"distillation.method=dkd", "student.train.epochs=5"});
        auto notes = experimentNotes(e);
        QCOMPARE(notes.size(), std::size_t(1));
        QVERIFY2(notes[0].find("distillation.params.warmup: DKD's warm-up of 20 epochs is longer than the student's 5") == 0,
                 notes[0].c_str());
        QVERIFY(notes[0].find("25%") != std::string::npos);
        e.distillation.params["warmup"] = 5;
        QVERIFY(experimentNotes(e).empty());
        e.distillation.schedules["temperature"] = ValueSchedule{"linear", 8, 2, 0, 10};
        e.distillation.schedules["beta"] = ValueSchedule{"step", 8, 2, 5, 0};
        notes = experimentNotes(e);
        QCOMPARE(notes.size(), std::size_t(2));
        QVERIFY(notes[0].find("distillation.schedules.beta: starts at epoch 5") == 0);
        QVERIFY(notes[1].find("distillation.schedules.temperature: ends at epoch 10") == 0);
    }

    void badMethodSettings_data()
    {
        QTest::addColumn<QStringList>("overrides");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown method") << QStringList{"distillation.method=dkdd"}
                                        << "distillation.method: unknown method 'dkdd'; did you mean 'dkd'?";
        QTest::newRow("unknown parameter")
            << QStringList{"distillation.method=dkd", R"(distillation.params={"betta": 2})"}
            << "distillation.params.betta: the method dkd has no such parameter; did you mean 'beta'?";
        QTest::newRow("another method's parameter")
            << QStringList{"distillation.method=dist", R"(distillation.params={"warmup": 2})"}
            << "distillation.params.warmup: the method dist has no such parameter";
        QTest::newRow("DKD beta < 0") << QStringList{"distillation.method=dkd", R"(distillation.params={"beta": -1})"}
                                      << "distillation.params.beta: must be between 0 and 1000 (got -1)";
        QTest::newRow("negative weight") << QStringList{"distillation.method=dist", R"(distillation.params={"ce": -0.5})"}
                                         << "distillation.params.ce: must be between 0 and 1000 (got -0.5)";
        QTest::newRow("switch") << QStringList{R"(distillation.params={"standardize": 2})"}
                                << "distillation.params.standardize: is a switch: true or false (got 2)";
        QTest::newRow("params not an object") << QStringList{"distillation.params=3"} << "distillation.params: must be an object";
        QTest::newRow("param text") << QStringList{"distillation.method=dkd", R"(distillation.params={"beta": "high"})"}
                                    << "distillation.params.beta: must be a number";
        QTest::newRow("pairs for a logit method")
            << QStringList{R"(distillation.pairs=[{"teacher": "pool1", "student": "pool1"}])"}
            << "distillation.pairs: the method kd works on logits alone";
        QTest::newRow("pair without student")
            << QStringList{"distillation.method=at", R"(distillation.pairs=[{"teacher": "pool1"}])"}
            << "distillation.pairs[0]: needs both a teacher and a student tap name";
        QTest::newRow("pairs not a list") << QStringList{"distillation.method=at", "distillation.pairs=3"}
                                          << "distillation.pairs: must be a list";
        QTest::newRow("negative feature weight")
            << QStringList{"distillation.method=pkt", R"(distillation.params={"beta": -2})"}
            << "distillation.params.beta: must be between 0 and 100000 (got -2)";
        QTest::newRow("crd with two pairs")
            << QStringList{"distillation.method=crd",
                           R"(distillation.pairs=[{"teacher": "a", "student": "a"}, {"teacher": "b", "student": "b"}])"}
            << "distillation.pairs: crd contrasts one pair of embeddings (got 2 pairs)";
        QTest::newRow("crd over processes") << QStringList{"distillation.method=crd", "distributed.processes=2"}
                                            << "distillation.method: crd keeps a memory of every training row";
        QTest::newRow("crd negatives a count") << QStringList{"distillation.method=crd", R"(distillation.params={"nce_k": 10.5})"}
                                               << "distillation.params.nce_k: is a count: a whole number (got 10.5)";
        QTest::newRow("schedule of an unknown setting")
            << QStringList{R"(distillation.schedules={"temprature": {"to": 2}})"}
            << "distillation.schedules.temprature: the method kd has no setting 'temprature' to change; did you mean 'temperature'?";
        QTest::newRow("schedule shape") << QStringList{R"(distillation.schedules={"alpha": {"shape": "cosin", "to": 0.1}})"}
                                        << "distillation.schedules.alpha.shape: unknown shape 'cosin'; did you mean 'cosine'?";
        QTest::newRow("schedule out of range") << QStringList{R"(distillation.schedules={"alpha": {"to": 1.5}})"}
                                               << "distillation.schedules.alpha.to: must be in [0, 1] (got 1.5)";
        QTest::newRow("schedule end before start")
            << QStringList{R"(distillation.schedules={"temperature": {"to": 1, "start": 3, "end": 2}})"}
            << "distillation.schedules.temperature.end: must be after start";
        QTest::newRow("schedule of a switch")
            << QStringList{R"(distillation.schedules={"standardize": {"to": 1}})"}
            << "distillation.schedules.standardize: the method kd has no setting 'standardize'";
        QTest::newRow("unknown feature method") << QStringList{"distillation.method=fitnets"}
                                                << "distillation.method: unknown method 'fitnets'; did you mean 'fitnet'?";
    }
    void badMethodSettings()
    {
        QFETCH(QStringList, overrides);
        QFETCH(QString, expected);
        std::vector<std::string> o;
        for (const auto &s : overrides)
            o.push_back(s.toStdString());
        const QString msg = errorOf(minimal, o);
        QVERIFY2(msg.startsWith("x.json: " + expected), qPrintable(msg));
    }

    void valuesAreQuotedAsWritten()
    {
        QVERIFY(errorOf(minimal, {"distillation.alpha=1.5"}).endsWith("(got 1.5)"));
        QVERIFY(errorOf(minimal, {"student.train.erase=1.25"}).endsWith("(got 1.25)"));
    }

    void unknownKeySuggestsNearest()
    {
        const QString msg = errorOf(R"({"distillation": {"tempreature": 3}, "student": {"model": {"preset": "mlp"}}})");
        QVERIFY2(msg.contains("distillation.tempreature") && msg.contains("did you mean 'temperature'"), qPrintable(msg));
        const QString top = errorOf(R"({"studnet": {}, "student": {"model": {"preset": "mlp"}}})");
        QVERIFY2(top.contains("'student'"), qPrintable(top));
        const QString far = errorOf(R"({"zzzzzzzzzz": 1, "student": {"model": {"preset": "mlp"}}})");
        QVERIFY2(far.contains("unknown key") && far.contains("known:"), qPrintable(far));
    }

    void malformedJsonGivesPosition()
    {
        const QString msg = errorOf("{\n  \"name\": \"x\",\n  \"seed\": ,\n}");
        QVERIFY2(msg.startsWith("x.json: malformed JSON at line 3"), qPrintable(msg));
        QVERIFY(errorOf("").contains("malformed JSON"));
        QVERIFY(errorOf("[1, 2]").contains("must be a JSON object"));
    }

    void numbersOutOfRangeAreErrorsNotCrashes()
    {
        // Found by fuzz_architecture: a number too large for a double escaped as
        // an exception the parser did not catch.
        QVERIFY_THROWS_EXCEPTION(ConfigError, parseExperiment(R"({"version": 1, "seed": 1e999})", "big.json"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parseArchitecture(R"([{"type": "linear", "out": 5e555}])", "big.json"));
    }

    void overrides()
    {
        const Experiment e = parseExperiment(minimal, "", {"distillation.temperature=8", "name=sweep", "student.train.nesterov=false",
                                                           "data.source=synthetic-vectors"});
        QCOMPARE(e.distillation.temperature, 8.0);
        QCOMPARE(e.name, std::string("sweep"));
        QCOMPARE(e.studentTrain.nesterov, false);
        QCOMPARE(e.data.source, std::string("synthetic-vectors"));
        QVERIFY(errorOf(minimal, {"novalue"}).contains("expected key=value"));
        QVERIFY(errorOf(minimal, {"distillation.temprature=3"}).contains("did you mean 'temperature'"));
        QVERIFY(errorOf(minimal, {"teacher.model.preset.x=3"}).contains("'preset' is not an object"));
    }

    void missingFile()
    {
        try {
            loadExperiment("/nonexistent/e.json");
            QFAIL("no error");
        } catch (const ConfigError &e) {
            QVERIFY(QString(e.what()).contains("/nonexistent/e.json"));
        }
    }

    void studentModelRequired()
    {
        QVERIFY(errorOf(R"({"teacher": {"model": {"preset": "mlp"}}})").contains("student.model"));
        QVERIFY(errorOf(R"({"teacher": {"model": {}}, "student": {"model": {"preset": "mlp"}}})").contains("teacher.model"));
        QVERIFY(errorOf(R"({"teacher": {"source": "run"}, "student": {"model": {"preset": "mlp"}}})").contains("teacher.run"));
    }

    void nearestName()
    {
        QCOMPARE(distillery::nearestName("alpah", {"alpha", "temperature"}), std::string("alpha"));
        QCOMPARE(distillery::nearestName("completely-different", {"alpha", "temperature"}), std::string());
    }
};

QTEST_GUILESS_MAIN(TestExperiment)
#include "tst_experiment.moc"
