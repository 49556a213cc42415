// distillery: the desktop workbench.
#include "experimentpanel.h"
#include "mainwindow.h"
#include "trainingcontroller.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Distillery"));
    QApplication::setApplicationName(QStringLiteral("Distillery"));
    QApplication::setApplicationVersion(QStringLiteral(DISTILLERY_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("org.distillery.Distillery"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A workbench for knowledge-distillation experiments."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption workspace({QStringLiteral("w"), QStringLiteral("workspace")},
                                 QStringLiteral("Folder that holds the runs/ folder."), QStringLiteral("dir"));
    parser.addOption(workspace);
    QCommandLineOption start(QStringLiteral("start"), QStringLiteral("Start the experiment at once."));
    parser.addOption(start);
    QCommandLineOption quit(QStringLiteral("quit-when-done"), QStringLiteral("Quit when the run has ended (with --start)."));
    parser.addOption(quit);
    parser.addPositionalArgument(QStringLiteral("experiment"), QStringLiteral("Experiment file (JSON) to open."),
                                 QStringLiteral("[experiment]"));
    parser.process(app);

    const QStringList files = parser.positionalArguments();
    MainWindow window(parser.value(workspace), files.isEmpty() ? QString() : files.first());
    window.show();
    if (parser.isSet(start)) {
        // Start once the data set is loaded and checked.
        QObject::connect(window.experimentPanel(), &ExperimentPanel::dataLoaded, &window, [&window] {
            if (window.startBlockedReason().isEmpty() && !window.controller()->isRunning())
                window.startRun();
        }, Qt::SingleShotConnection);
    }
    if (parser.isSet(quit))
        QObject::connect(window.controller(), &TrainingController::runningChanged, &app, [](bool running) {
            if (!running)
                QCoreApplication::quit();
        });
    return app.exec();
}
