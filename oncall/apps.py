from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On call and paging"

    def ready(self) -> None:
        from oncall import subscribers

        subscribers.connect()
        from incidents.boxes import register_list_box, register_team_box
        from incidents.panels import Placement, register_panel
        from oncall import boxes, panels

        register_panel(panels.TEMPLATE, panels.incident_paging_context, placement=Placement.TOP)
        register_list_box(boxes.LIST_TEMPLATE, boxes.oncall_now_context)
        register_team_box(boxes.TEAM_TEMPLATE, boxes.team_oncall_context)
