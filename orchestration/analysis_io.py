"""The analysis assets' IO manager: each asset's `StepOutput` is kept in the analysis store next to the warehouse
(`<warehouse dir>/analysis/`, one human-readable file per part: als_eca.study.store) and loaded from there as the
input of the assets and checks after it - in the same run or a later one. So the lineage the UI shows is the data
the steps exchange, and no step reads another's files by name."""

import dagster as dg

from als_eca.study.store import AnalysisStore, StepOutput

ANALYSIS_IO_MANAGER = "analysis_io_manager"


class AnalysisIOManager(dg.IOManager):
    def __init__(self, store: AnalysisStore):
        self.store = store

    def handle_output(self, context: dg.OutputContext, obj: StepOutput) -> None:
        name = context.asset_key.path[-1]
        self.store.save_step(name, obj)
        context.add_output_metadata({"results": dg.MetadataValue.path(str(self.store.path(f"{name}.json")))})

    def load_input(self, context: dg.InputContext) -> StepOutput:
        return self.store.load_step(context.asset_key.path[-1])


@dg.io_manager(required_resource_keys={"warehouse"},
               description="Analysis step outputs as JSON/Parquet/PNG files in <warehouse dir>/analysis/.")
def analysis_io_manager(init_context: dg.InitResourceContext) -> AnalysisIOManager:
    return AnalysisIOManager(AnalysisStore(init_context.resources.warehouse.directory / "analysis"))
