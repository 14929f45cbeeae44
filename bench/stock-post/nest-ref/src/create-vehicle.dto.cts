/**
 * The POST /stock body as a NestJS developer writes it: a class with class-validator decorators, checked
 * by the global ValidationPipe. Rules equal the contracts' (VIN alphabet, name bounds, year and odometer
 * ranges, unit), so the reference rejects what vehicles-stock rejects.
 */
import { Type } from 'class-transformer'
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator'

const nextYear = () => new Date().getUTCFullYear() + 1

export class CreateVehicleDto {
  @IsString()
  @Matches(/^[A-HJ-NPR-Za-hj-npr-z0-9]{17}$/, {
    message: 'vin must be 17 characters A-Z, 0-9 without I, O, Q',
  })
  vin!: string

  @IsString()
  @MaxLength(64)
  @Matches(/\S/, { message: 'manufacturer must not be blank' })
  manufacturer!: string

  @IsString()
  @MaxLength(64)
  @Matches(/\S/, { message: 'model must not be blank' })
  model!: string

  @IsInt()
  @Min(1886)
  @Max(nextYear())
  year!: number

  @IsInt()
  @Min(0)
  @Max(2_000_000)
  odometer!: number

  @IsIn(['km', 'mi'])
  odometerUnit!: 'km' | 'mi'
}

export class ListQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number
}
