#include "machineeditor.h"

#include "distillery/engine.h"

#include <QComboBox>
#include <QFormLayout>
#include <QSignalBlocker>
#include <QSpinBox>

using namespace distillery;

MachineEditor::MachineEditor(QWidget *parent) : FoldSection(parent)
{
    auto *box = new QWidget;
    auto *f = new QFormLayout(box);
    f->setContentsMargins(18, 0, 0, 0);
    device_ = new QComboBox(box);
    device_->addItem(tr("auto"), QStringLiteral("auto"));
    device_->addItem(tr("CPU"), QStringLiteral("cpu"));
    device_->addItem(tr("CUDA"), QStringLiteral("cuda"));
    if (!cudaAvailable()) {
        device_->setItemData(2, false, Qt::UserRole - 1); // disabled item
        device_->setItemText(2, tr("CUDA (no device seen)"));
    }
    device_->setToolTip(tr("auto uses a CUDA GPU where LibTorch sees one, else the CPU"));
    precision_ = new QComboBox(box);
    precision_->setObjectName(QStringLiteral("precision"));
    precision_->addItem(tr("float32"), QStringLiteral("fp32"));
    precision_->addItem(tr("mixed bfloat16"), QStringLiteral("bf16"));
    precision_->addItem(tr("mixed float16"), QStringLiteral("fp16"));
    if (!distillery::float16Available()) {
        precision_->setItemData(2, false, Qt::UserRole - 1); // disabled item
        precision_->setItemText(2, tr("mixed float16 (needs CUDA or LibTorch 2)"));
    }
    precision_->setToolTip(tr("Mixed bfloat16 or float16 runs matrix products and convolutions in that type "
                              "(autocast), with float weights and losses. Float16 also scales the loss so that "
                              "small gradients survive, and skips a step whose gradients overflow. Faster on "
                              "GPUs with such units; on CPUs without them it is slower."));
    threads_ = new QSpinBox(box);
    threads_->setRange(0, 256);
    threads_->setSpecialValueText(tr("all cores (%1)").arg(effectiveThreads(0)));
    blasThreads_ = new QSpinBox(box);
    blasThreads_->setRange(0, 256);
    blasThreads_->setSpecialValueText(tr("auto (per stage)"));
    blasThreads_->setToolTip(distillery::oneDnnLinearLayers()
                                 ? tr("Threads of OpenBLAS's own pool. This build runs linear layers through "
                                      "oneDNN on the CPU threads, so OpenBLAS has little to do: auto gives it one.")
                                 : tr("Threads of OpenBLAS's own pool for matrix products. Auto gives them the cores "
                                      "for fully connected models and one thread for convolutional ones."));
    processes_ = new QSpinBox(box);
    processes_->setObjectName(QStringLiteral("processes"));
    processes_->setRange(1, 64);
    processes_->setToolTip(tr("Train each stage data-parallel over this many processes on this machine (Gloo "
                              "over the loopback address): each takes its share of every batch, so the batch and "
                              "the schedule stay the experiment's. The cores are shared among them."));
    seed_ = new QSpinBox(box);
    seed_->setRange(0, 1 << 30);
    seed_->setToolTip(tr("The same seed gives the same numbers on the CPU, run after run"));
    f->addRow(tr("Device"), device_);
    f->addRow(tr("Precision"), precision_);
    f->addRow(tr("CPU threads"), threads_);
    f->addRow(tr("BLAS threads"), blasThreads_);
    f->addRow(tr("Processes"), processes_);
    f->addRow(tr("Seed"), seed_);
    setContent(box);

    auto edited = [this] {
        updateSummary();
        Q_EMIT changed();
    };
    connect(seed_, qOverload<int>(&QSpinBox::valueChanged), this, edited);
    connect(device_, qOverload<int>(&QComboBox::currentIndexChanged), this, edited);
    connect(precision_, qOverload<int>(&QComboBox::currentIndexChanged), this, edited);
    connect(threads_, qOverload<int>(&QSpinBox::valueChanged), this, edited);
    connect(blasThreads_, qOverload<int>(&QSpinBox::valueChanged), this, edited);
    connect(processes_, qOverload<int>(&QSpinBox::valueChanged), this, edited);
}

void MachineEditor::updateSummary()
{
    QString threads = threads_->value() ? tr("%n thread(s)", nullptr, threads_->value()) : tr("all cores");
    if (processes_->value() > 1)
        threads = threads_->value() ? tr("%1 processes × %2").arg(processes_->value()).arg(threads)
                                    : tr("%1 processes sharing the cores").arg(processes_->value());
    setSummary(tr("Machine: %1 · %2 · %3 · seed %4")
                   .arg(device_->currentText(), precision_->currentText(), threads)
                   .arg(seed_->value()));
}

void MachineEditor::setExperiment(const Experiment &e)
{
    const QSignalBlocker block(this); // filled, not edited
    seed_->setValue(int(e.seed));
    device_->setCurrentIndex(std::max(0, device_->findData(QString::fromStdString(e.device))));
    precision_->setCurrentIndex(std::max(0, precision_->findData(QString::fromStdString(e.precision))));
    threads_->setValue(e.threads);
    blasThreads_->setValue(e.blasThreads);
    processes_->setValue(e.distributed.processes);
    updateSummary();
}

void MachineEditor::apply(Experiment &e) const
{
    e.seed = std::uint64_t(seed_->value());
    e.device = device_->currentData().toString().toStdString();
    e.precision = precision_->currentData().toString().toStdString();
    e.threads = threads_->value();
    e.blasThreads = blasThreads_->value();
    e.distributed.processes = processes_->value();
}
