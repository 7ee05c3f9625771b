"""Field dispatch: districts, field workers (volunteers, couriers, social workers, polyclinic
staff) with their capacity and availability, and the choice of who fulfils a request."""
