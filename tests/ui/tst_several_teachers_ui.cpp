// Several teachers in the window: the experiment panel keeps the further
// teachers of an experiment it was given (a file opened, a run's config)
// through edits, so that saving and starting write them back, and says so
// in the teacher box.

// The tests are built without Qt's keywords, for LibTorch's headers; this one
// sees no LibTorch, and the panel's headers need them.
#undef QT_NO_KEYWORDS
#include "experimentpanel.h"
#include "teachersdialog.h"
#include "testutil.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QTableWidget>
#include <QToolButton>
#include <QtTest/QtTest>

using namespace distillery;

class TestSeveralTeachersUi : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void panelKeepsFurtherTeachers()
    {
        QTemporaryDir dir;
        Experiment e = testutil::syntheticExperiment();
        e.teacher.weight = 3;
        TeacherConfig run;
        run.source = "run";
        run.run = (dir.path() + "/runs/20250101-000000-other").toStdString();
        run.weight = 1;
        TeacherConfig imported;
        imported.source = "torchscript";
        imported.path = (dir.path() + "/teacher.pt").toStdString();
        imported.input = "normalised";
        imported.weight = 0;
        e.teachers = {run, imported};
        const QString file = dir.path() + "/several.json";
        saveExperiment(e, file.toStdString());

        ExperimentPanel p;
        p.setExperiment(loadExperiment(file.toStdString()));
        QVERIFY(!p.furtherTeachersLabel()->isHidden());
        const QString text = p.furtherTeachersLabel()->text();
        QVERIFY2(text.contains(QStringLiteral("2 further teachers")) && text.contains(QStringLiteral("0.75")) &&
                     text.contains(QStringLiteral("20250101-000000-other")) && text.contains(QStringLiteral("teacher.pt")),
                 qPrintable(text));
        // Edited in the panel: the further teachers and the weights stay.
        p.temperatureBox()->setValue(7);
        const Experiment back = p.experiment();
        QCOMPARE(back.distillation.temperature, 7.0);
        QCOMPARE(back.teacher.weight, 3.0);
        QCOMPARE(back.teachers.size(), std::size_t(2));
        QCOMPARE(back.teachers[0].run, run.run);
        QCOMPARE(back.teachers[1].path, imported.path);
        QCOMPARE(back.teachers[1].input, std::string("normalised"));
        QCOMPARE(back.teachers[1].weight, 0.0);
        // Saved from the panel (File ▸ Save) and read back: still there.
        saveExperiment(back, file.toStdString());
        QCOMPARE(loadExperiment(file.toStdString()).teachers.size(), std::size_t(2));
        // A method that takes one teacher is what keeps Start disabled, named.
        p.methodBox()->setCurrentIndex(p.methodBox()->findData(QStringLiteral("dkd")));
        QVERIFY2(p.problem().contains(QStringLiteral("distillation.method: several teachers")),
                 qPrintable(p.problem()));
        // Another experiment with one teacher: none kept, nothing shown.
        p.setExperiment(testutil::syntheticExperiment());
        QVERIFY(p.furtherTeachersLabel()->isHidden());
        QVERIFY(p.experiment().teachers.empty());
    }

    // "Teachers…": rows added, edited and removed, the shares shown as the
    // weights change, and the list set back into the panel's experiment.
    void dialogEditsTheTeachers()
    {
        Experiment e = testutil::syntheticExperiment();
        TeacherConfig imported;
        imported.source = "torchscript";
        imported.path = "/models/big.pt";
        imported.input = "normalised";
        imported.weight = 2;
        e.teachers = {imported};
        TeachersDialog d(e);
        QCOMPARE(d.table()->rowCount(), 1);
        QCOMPARE(d.teachers().size(), std::size_t(1));
        QCOMPARE(d.teachers()[0].path, imported.path);
        QCOMPARE(d.teachers()[0].input, std::string("normalised"));
        QVERIFY2(d.sharesLabel()->text().contains(QStringLiteral("0.333")) &&
                     d.sharesLabel()->text().contains(QStringLiteral("big.pt 0.667")),
                 qPrintable(d.sharesLabel()->text()));

        d.addRun(QStringLiteral("/work/runs/20250101-000000-a"));
        d.firstWeightBox()->setValue(1.0);
        auto *weight = qobject_cast<QDoubleSpinBox *>(d.table()->cellWidget(1, 3));
        QVERIFY(weight);
        weight->setValue(5.0); // 1 : 2 : 5
        QVERIFY2(d.sharesLabel()->text().contains(QStringLiteral("20250101-000000-a 0.625")),
                 qPrintable(d.sharesLabel()->text()));
        d.table()->item(1, 1)->setText(QStringLiteral("/work/runs/20250101-000000-b"));
        auto teachers = d.teachers();
        QCOMPARE(teachers.size(), std::size_t(2));
        QCOMPARE(teachers[1].source, std::string("run"));
        QCOMPARE(teachers[1].run, std::string("/work/runs/20250101-000000-b"));
        QCOMPARE(teachers[1].weight, 5.0);

        d.firstWeightBox()->setValue(0.0);
        d.removeRow(0);
        weight->setValue(0.0);
        QVERIFY2(d.sharesLabel()->text().contains(QStringLiteral("Every weight is 0")), qPrintable(d.sharesLabel()->text()));
        d.removeRow(0);
        QVERIFY(d.teachers().empty());
        QVERIFY(d.sharesLabel()->text().startsWith(QStringLiteral("One teacher")));

        // Accepted into the panel: its experiment has them, and the box says so.
        ExperimentPanel p;
        p.setExperiment(testutil::syntheticExperiment());
        QVERIFY(p.teachersButton()->isVisibleTo(&p));
        p.setFurtherTeachers(3.0, teachers);
        const Experiment back = p.experiment();
        QCOMPARE(back.teacher.weight, 3.0);
        QCOMPARE(back.teachers.size(), std::size_t(2));
        QCOMPARE(back.teachers[0].path, imported.path);
        QCOMPARE(back.teachers[1].run, std::string("/work/runs/20250101-000000-b"));
        QVERIFY(!p.furtherTeachersLabel()->isHidden());
        QVERIFY2(p.furtherTeachersLabel()->text().contains(QStringLiteral("2 further teachers")),
                 qPrintable(p.furtherTeachersLabel()->text()));
        p.setFurtherTeachers(1.0, {});
        QVERIFY(p.experiment().teachers.empty() && p.furtherTeachersLabel()->isHidden());
    }
};

QTEST_MAIN(TestSeveralTeachersUi)
#include "tst_several_teachers_ui.moc"
