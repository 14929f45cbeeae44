import { Body, Controller, Get, Post, Query, Res } from '@nestjs/common'
import { CreateVehicleDto, ListQueryDto } from './create-vehicle.dto.cjs'
import { StockService, type Vehicle } from './stock.service.cjs'

/** Only what the benchmark needs of the response object (express's, under Nest's default platform). */
interface HeaderSink {
  setHeader(name: string, value: string): void
}

@Controller('stock')
export class StockController {
  constructor(private readonly stock: StockService) {}

  @Post()
  async create(
    @Body() body: CreateVehicleDto,
    @Res({ passthrough: true }) res: HeaderSink,
  ): Promise<Vehicle> {
    const vehicle = await this.stock.create(body)
    res.setHeader('Location', `/stock/${vehicle.id}`)
    return vehicle
  }

  @Get()
  list(@Query() query: ListQueryDto) {
    return this.stock.list(query.limit ?? 20)
  }
}
